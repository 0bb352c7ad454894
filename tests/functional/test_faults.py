"""Fault injection against `swiftcrypt serve`: the server killed mid-PUT,
the backend failing or corrupted mid-GET, a full disk, a client that goes
away mid-GET, Barbican unreachable at start-up."""

import hashlib
import os
import signal
import socket
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from swiftcrypt.cli.serve import default_config_path
from swiftcrypt.store import diskfile
from tests.functional.conftest import start_server, temp_files
from swiftcrypt.common import checksums

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {"PYTHONPATH": REPO}
ACCOUNT = "AUTH_faults"
SOCKET_TIMEOUT = 60  # a server that neither sends nor closes fails the test


def body_of(size, seed):
    """Deterministic pseudo-random bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s-%d" % (seed.encode(), counter)).digest()
        counter += 1
    return bytes(out[:size])


def config_with(tmp_path, replace=None, encryption_extra=""):
    """The embedded pipeline's config, edited."""
    with open(default_config_path()) as f:
        text = f.read()
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    if encryption_extra:
        text = text.replace("use = egg:swiftcrypt#encryption",
                            "use = egg:swiftcrypt#encryption\n" + encryption_extra)
    path = tmp_path / "pipeline.conf"
    path.write_text(text)
    return str(path)


@pytest.fixture
def own_server(tmp_path):
    """Start servers on a private data dir (``env`` added to the
    environment); stop them all afterwards."""
    started = []

    def start(*args, data_dir=None, log_name="server.log", env=None):
        srv = start_server(data_dir or tmp_path / "data", tmp_path / log_name, *args,
                           env=dict(ENV, **(env or {})))
        started.append(srv)
        return srv

    yield start
    for srv in started:
        if srv.proc.poll() is None:
            srv.stop()


def new_container(srv):
    url = "%s/v1/%s/c-%s" % (srv.url, ACCOUNT, uuid.uuid4().hex[:8])
    assert requests.put(url).status_code == 201
    return url


def object_file(srv, url):
    parts = urlsplit(url).path.split("/", 4)
    return diskfile.object_path(os.path.join(srv.data_dir, "objects"),
                                parts[2], parts[3], parts[4])


def raw_get(url, headers=None, read_limit=None):
    """GET over a keep-alive HTTP/1.1 connection, read until the server
    closes it or the announced length has come. Returns (status, headers,
    body, closed_early)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT)
    try:
        lines = ["GET %s HTTP/1.1" % parts.path, "Host: x"]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the headers"
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for line in header_lines:
            name, _sep, value = line.partition(":")
            hdrs[name.strip().lower()] = value.strip()
        length = int(hdrs.get("content-length", -1))
        while length < 0 or len(body) < length:
            if read_limit is not None and len(body) >= read_limit:
                return int(status_line.split()[1]), hdrs, body, None
            chunk = sock.recv(65536)  # socket.timeout here: the server hung
            if not chunk:
                return int(status_line.split()[1]), hdrs, body, True
            body += chunk
        return int(status_line.split()[1]), hdrs, body, False
    finally:
        sock.close()


def wait_for(predicate, what, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what)


# -- the server killed mid-PUT ----------------------------------------------

def test_server_killed_mid_put_keeps_previous_version_and_no_temp_file(own_server, tmp_path):
    srv = own_server()
    url = new_container(srv) + "/victim"
    old = body_of(100000, "old")
    assert requests.put(url, data=old).status_code == 201
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n"
                      % parts.path).encode("ascii"))
        sock.sendall(body_of(3000000, "new"))
        wait_for(lambda: temp_files(srv.data_dir), "the PUT's temp file")
        srv.stop(signal.SIGKILL)
    assert temp_files(srv.data_dir)  # the kill left it behind...
    srv2 = own_server(data_dir=srv.data_dir, log_name="server2.log")
    assert temp_files(srv.data_dir) == []  # ...and start-up cleared it
    resp = requests.get(url.replace(srv.url, srv2.url))
    assert resp.status_code == 200 and resp.content == old
    listing = requests.get(url.rsplit("/", 1)[0].replace(srv.url, srv2.url),
                           params={"format": "json"}).json()
    assert [(e["name"], e["bytes"], e["hash"]) for e in listing] == [
        ("victim", len(old), checksums.md5(old).hexdigest())]


# -- the backend failing mid-GET ---------------------------------------------

def test_object_file_truncated_mid_get_ends_response_early_and_is_logged(own_server):
    srv = own_server()
    url = new_container(srv) + "/shrinking"
    body = body_of(8 * 1024 * 1024, "big")
    assert requests.put(url, data=body).status_code == 201
    path = object_file(srv, url)
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT)
    try:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % parts.path).encode("ascii"))
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        with open(path, "r+b") as f:  # the disk loses the rest under the reader
            f.truncate(1024 * 1024)
        received = first.split(b"\r\n\r\n", 1)[1]
        while True:
            chunk = sock.recv(65536)  # a hang here (no close) fails the test
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    assert len(received) < len(body)
    assert body.startswith(received[:len(received) // 2])  # never garbage
    wait_for(lambda: "shrinking" in srv.log_text(), "a log line naming the object")


def test_tampered_object_with_verify_body_is_cut_short_and_logged(own_server, tmp_path):
    conf = config_with(tmp_path, encryption_extra="verify_body = true")
    srv = own_server("--config", conf)
    container = new_container(srv)
    url = container + "/tampered"
    body = body_of(1024 * 1024 + 123, "tamper")
    assert requests.put(url, data=body).status_code == 201
    assert requests.get(url).content == body  # verified and whole
    with open(object_file(srv, url), "r+b") as f:  # the body comes first in the file
        f.seek(500000)
        byte = f.read(1)
        f.seek(500000)
        f.write(bytes([byte[0] ^ 0x80]))
    status, headers, received, closed = raw_get(url)
    assert status == 200 and closed is True
    assert int(headers["content-length"]) == len(body)
    assert len(received) < len(body)
    wait_for(lambda: "corrupt" in srv.log_text() and "tampered" in srv.log_text(),
             "the corrupt-object log line")
    # ranged reads are not covered: the flipped byte comes back flipped
    resp = requests.get(url, headers={"Range": "bytes=499990-500009"})
    assert resp.status_code == 206
    assert resp.content[10] == body[500000] ^ 0x80
    # the server is still fine for everyone else
    other = container + "/other"
    assert requests.put(other, data=b"fine").status_code == 201
    assert requests.get(other).content == b"fine"


# -- a client that goes away mid-GET ------------------------------------------

def test_client_disconnect_mid_get_leaks_nothing(own_server):
    srv = own_server()
    url = new_container(srv) + "/long"
    body = body_of(16 * 1024 * 1024, "long")
    assert requests.put(url, data=body).status_code == 201
    proc = psutil.Process(srv.proc.pid)
    assert requests.get(url).content == body
    baseline = proc.num_fds()
    for _ in range(20):
        status, _headers, received, _closed = raw_get(url, read_limit=100000)
        assert status == 200 and body.startswith(received)
    # the server closed every object file it had opened
    wait_for(lambda: proc.num_fds() <= baseline, "the server to close abandoned files")
    assert requests.get(url).content == body
    assert "Traceback" not in srv.log_text()


# -- a full disk ---------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_disk_is_507_and_previous_version_intact(own_server, small_disk):
    srv = own_server(data_dir=small_disk / "data")
    url = new_container(srv) + "/filling"
    old = body_of(200000, "old")
    assert requests.put(url, data=old).status_code == 201
    resp = requests.put(url, data=body_of(5 * 1024 * 1024, "too big"))
    assert resp.status_code == 507
    assert requests.get(url).content == old
    assert temp_files(srv.data_dir) == []
    assert "no space" in srv.log_text()
    # once there is room again, writes work
    small = body_of(1000, "small")
    assert requests.put(url, data=small).status_code == 201
    assert requests.get(url).content == small


# -- Barbican unreachable at start-up -------------------------------------------

def test_barbican_unreachable_fails_fast_with_one_line(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kms = tmp_path / "kms.conf"
    kms.write_text("[kms_keymaster]\nauth_type = noauth\nproject_id = p\n"
                   "key_id = 0b1e4d6a-0000-4000-8000-000000000000\n"
                   "barbican_endpoint = http://127.0.0.1:%d\nretries = 1\ntimeout = 2\n" % port)
    os.chmod(kms, 0o600)
    conf = config_with(tmp_path, replace={
        "use = egg:swiftcrypt#keymaster\nkeymaster_config_path = %(keymaster_config_path)s":
        "use = egg:swiftcrypt#kms_keymaster\nset keymaster_config_path = %s" % kms})
    log = tmp_path / "kms.log"
    proc = start_server(tmp_path / "data", log, "--config", conf, env=ENV, wait=False)
    try:
        status = proc.wait(120)  # must exit by itself, not serve or hang
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert status != 0
    assert "serving" not in text and "Traceback" not in text
    errors = [line for line in text.splitlines() if "error" in line.lower()]
    assert errors and "key_id" in errors[-1] and "0b1e4d6a" in errors[-1], text
