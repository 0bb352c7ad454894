"""Slow clients: a thousand connections that each send one byte and then
nothing neither stop `swiftcrypt serve` from answering others nor hold it
for longer than its header deadline, even started with a soft limit on
open files below that (the server raises it towards its hard limit)."""

import resource
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.functional.conftest import start_server
from tests.functional.test_faults import ENV

SLOW_CLIENTS = 1000
HEADER_TIMEOUT = 3
WAIT = 60  # bounds each wait below; a server that never answers fails the test


@pytest.fixture
def low_fd_limit():
    """Start children with a soft limit of 512 open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_flood_of_one_byte_connections_does_not_stop_the_server(tmp_path, low_fd_limit):
    srv = start_server(tmp_path / "data", tmp_path / "server.log",
                       "--header-timeout", str(HEADER_TIMEOUT), env=ENV)
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(
        resource.RLIMIT_NOFILE)[1],) * 2)  # this test's own sockets
    parts = urlsplit(srv.url)
    slow = []
    try:
        assert requests.put(srv.url + "/v1/AUTH_slow/c", timeout=WAIT).status_code == 201
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT)
            sock.sendall(b"G")
            slow.append(sock)
        # a normal client is still answered while they hang on
        assert requests.get(srv.url + "/v1/AUTH_slow/c", timeout=WAIT).status_code in (200, 204)
        # and the slow ones are closed once the header deadline has passed
        closed = 0
        for sock in slow:
            try:
                if sock.recv(1024) == b"":
                    closed += 1
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                break
        assert closed == SLOW_CLIENTS
        assert requests.head(srv.url + "/v1/AUTH_slow/c", timeout=WAIT).status_code == 204
        assert srv.proc.poll() is None
    finally:
        for sock in slow:
            sock.close()
        srv.stop()
    assert "Traceback" not in srv.log_text()


@pytest.mark.parametrize("flag,value", [("--client-timeout", "0"),
                                        ("--header-timeout", "-1"),
                                        ("--client-timeout", "soon")])
def test_bad_timeout_is_refused_with_one_line(tmp_path, flag, value):
    done = subprocess.run([sys.executable, "-m", "swiftcrypt.cli", "serve", "--data-dir",
                           str(tmp_path / "d"), flag, value], capture_output=True, text=True,
                          timeout=WAIT, env=dict(ENV, PATH="/usr/bin:/bin"))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and flag in lines[0] and "positive number of seconds" in lines[0]


def test_help_documents_both_timeouts():
    done = subprocess.run([sys.executable, "-m", "swiftcrypt.cli", "serve", "--help"],
                          capture_output=True, text=True, timeout=WAIT, env=ENV)
    assert "--client-timeout" in done.stdout and "--header-timeout" in done.stdout
    assert "client_timeout" in done.stdout  # says which Swift option it mirrors


def test_timeouts_start_counting_when_the_server_waits(tmp_path):
    # a client that takes longer than the header deadline over its body is
    # fine: only the line and headers are bounded
    srv = start_server(tmp_path / "data", tmp_path / "server.log",
                       "--header-timeout", "1", env=ENV)
    try:
        assert requests.put(srv.url + "/v1/AUTH_slow/c", timeout=WAIT).status_code == 201

        def body():
            yield b"first part "
            time.sleep(2)
            yield b"second part"
        resp = requests.put(srv.url + "/v1/AUTH_slow/c/o", data=body(), timeout=WAIT)
        assert resp.status_code == 201
        assert requests.get(srv.url + "/v1/AUTH_slow/c/o", timeout=WAIT).content == \
            b"first part second part"
    finally:
        srv.stop()
