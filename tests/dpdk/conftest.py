def pytest_addoption(parser):
    parser.addoption("--stack-smoke", required=True, help="the stack_smoke binary")
    parser.addoption("--zcserve", required=True, help="the zcserve binary, with the dpdk engine")
