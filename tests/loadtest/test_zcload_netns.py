"""The veth path's command lines: namespaces, addresses, where wrk runs.
(The root-only test that runs it is test_zcload_veth.py.)"""

import pytest

from zcload import netns, servers, wrk


def test_pair_names_and_prefixes():
    p = netns.Pair("zh4194304")
    assert (p.server_ns, p.client_ns, p.server_if, p.client_if) == \
        ("zh4194304-s", "zh4194304-c", "zh4194304s", "zh4194304c")
    assert p.in_client("wrk", "x") == ["ip", "netns", "exec", "zh4194304-c", "wrk", "x"]
    with pytest.raises(ValueError):
        netns.Pair("a-tag-far-too-long")
    # the benchmarking range, RFC 2544
    assert netns.SERVER_ADDR.startswith("198.18.") and netns.CLIENT_ADDR.startswith("198.18.")


def test_dpdk_command_owns_the_veth():
    pair = netns.Pair("zh1")
    cmd = servers.zcserve_command("/zcserve", servers.Backend("zcserve", "dpdk", "read_write"),
                                  "/www", 0, ["server.idle_timeout=5s"], pair=pair)
    assert cmd[:4] == ["ip", "netns", "exec", "zh1-s"]
    assert cmd[4:7] == ["taskset", "-c", "0"]
    assert cmd[cmd.index("--listen") + 1] == "127.0.0.1:80"
    assert cmd[cmd.index("--admin") + 1] == "127.0.0.1:0"
    sets = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--set"]
    assert sets == ["io.dpdk.vdev=net_af_xdp0,iface=zh1s,busy_budget=0",
                    "io.dpdk.address=198.18.0.1/24", "server.idle_timeout=5s"]
    with pytest.raises(ValueError):
        servers.zcserve_command("/zcserve", servers.Backend("zcserve", "dpdk", "read_write"),
                                "/www", 0)


def test_kernel_engine_on_the_veth_listens_on_the_address():
    pair = netns.Pair("zh1")
    cmd = servers.zcserve_command("/zcserve", servers.Backend("zcserve", "epoll", "sendfile"),
                                  "/www", None, pair=pair)
    assert cmd[:4] == ["ip", "netns", "exec", "zh1-s"] and cmd[4] == "/zcserve"
    assert cmd[cmd.index("--listen") + 1] == "198.18.0.1:80"
    assert not any(a.startswith("io.dpdk") for a in cmd)
    loop = servers.zcserve_command("/zcserve", servers.Backend("zcserve", "epoll", "sendfile"),
                                   "/www", None)
    assert loop[0] == "/zcserve" and loop[loop.index("--listen") + 1] == "127.0.0.1:0"


def test_wrk_runs_in_the_client_namespace():
    cmd = wrk.command("http://198.18.0.1:80/1k.bin", 64, 2, 1, ns="zh1-c")
    assert cmd[:7] == ["ip", "netns", "exec", "zh1-c", "taskset", "-c", "1"]
    assert cmd[7] == "wrk" and cmd[-1] == "http://198.18.0.1:80/1k.bin"
    assert wrk.command("http://127.0.0.1:8080/", 64, 2, None)[0] == "wrk"


def test_peer_config_on_the_veth(tmp_path):
    conf = servers.write_peer_config("nginx", "/www", 80, str(tmp_path), netns.SERVER_ADDR)
    assert "listen 198.18.0.1:80 " in open(conf).read()


class FakePair:
    """A Pair that runs its server in this namespace, for a server that
    never gets as far as the network."""
    server_ns, client_ns, server_if = "zhfake-s", "zhfake-c", "zhfakes"

    def in_server(self, *args):
        return list(args)


def test_no_xdp_is_unavailable_not_failed(tmp_path):
    """When DPDK cannot probe net_af_xdp (the kernel refuses an AF_XDP
    socket), starting the engine raises Unavailable with DPDK's words, so
    the harness reports the backend skipped, not failed."""
    fake = tmp_path / "zcserve"
    fake.write_text("#!/bin/sh\n"
                    "echo 'EAL: Driver cannot attach the device (net_af_xdp0)' >&2\n"
                    "echo 'zcserve: dpdk: device net_af_xdp0 did not probe: "
                    "Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(servers.Unavailable, match="net_af_xdp is unavailable here: .*did not "
                                                  "probe: Operation not permitted"):
        servers.start_zcserve(str(fake), servers.Backend("zcserve", "dpdk", "read_write"),
                              str(tmp_path), str(tmp_path), None, pair=FakePair())
    fake.write_text("#!/bin/sh\necho 'zcserve: bad root' >&2\nexit 2\n")
    with pytest.raises(RuntimeError) as e:
        servers.start_zcserve(str(fake), servers.Backend("zcserve", "dpdk", "read_write"),
                              str(tmp_path), str(tmp_path), None, pair=FakePair())
    assert not isinstance(e.value, servers.Unavailable) and "bad root" in str(e.value)
