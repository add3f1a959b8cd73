def pytest_addoption(parser):
    parser.addoption("--stack-smoke", required=True, help="the stack_smoke binary")
