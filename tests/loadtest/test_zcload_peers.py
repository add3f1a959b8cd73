"""The peers' configuration templates and how they are started."""

import os
import re

import pytest

from zcload import servers


@pytest.mark.parametrize("name", sorted(servers.PEERS))
def test_template_fills_and_stays_on_loopback(name, tmp_path):
    with open(os.path.join(servers.PEERS_DIR, servers.PEERS[name]["template"])) as f:
        text = f.read()
    filled = servers.fill_template(text, {"root": "/srv/www", "port": 18123, "addr": "127.0.0.1",
                                          "dir": str(tmp_path), "user": "nobody"})
    assert "{{" not in filled and "/srv/www" in filled and "18123" in filled
    assert "127.0.0.1" in filled
    assert not re.search(r"\b(listen|port)\b[^\n]*\b80\b", filled)
    # pid and logs under the run's directory, never the system's
    assert "/var/log" not in filled and "/run/" not in filled


def test_nginx_settings():
    with open(os.path.join(servers.PEERS_DIR, "nginx.conf.in")) as f:
        text = f.read()
    for directive in ("daemon off;", "master_process off;", "worker_processes 1;",
                      "sendfile on;", "tcp_nopush on;", "open_file_cache max=",
                      "keepalive_requests", "access_log off;"):
        assert directive in text


def test_unfilled_placeholder_is_an_error():
    with pytest.raises(KeyError, match="port"):
        servers.fill_template("listen {{port}};", {"root": "/"})


def test_peer_commands_run_in_the_foreground():
    assert servers.peer_command("lighttpd", "lighttpd", "c", "/d") == ["lighttpd", "-D", "-f", "c"]
    assert servers.peer_command("h2o", "h2o", "c", "/d") == ["h2o", "-c", "c"]
    nginx = servers.peer_command("nginx", "nginx", "c", "/d")
    assert nginx[-2:] == ["-c", "c"] and "-e" in nginx


def test_free_port_is_a_loopback_port():
    assert 0 < servers.free_port() < 65536


def test_backend_labels():
    assert servers.Backend("zcserve", "epoll", "splice").label == "epoll/splice"
    assert servers.peer_backend("nginx").label == "nginx"
    assert servers.peer_backend("nginx").is_peer
