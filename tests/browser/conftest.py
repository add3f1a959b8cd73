def pytest_addoption(parser):
    parser.addoption("--zcserve", action="store", help="the zcserve binary under test")
    parser.addoption("--engine", action="store", default="epoll",
                     help="io.engine; its default sender serves")
