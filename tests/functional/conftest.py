"""A `swiftcrypt serve` subprocess over a temp data dir, shared by the
functional tests, and a register of plaintext markers that the last test
looks for under the data dir."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from swiftcrypt.cli.serve import serving_url

START_TIMEOUT = 60
SCAN_TEST = "test_no_plaintext_under_data_dir"


class Server:
    """A running `swiftcrypt serve`."""

    def __init__(self, proc, url, data_dir, log_path):
        self.proc = proc
        self.url = url
        self.data_dir = data_dir
        self.log_path = log_path

    def log_text(self):
        """Everything the server wrote to stderr so far."""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the server and return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def secret_path(base):
    """The root secret a server started by start_server with a log file in
    ``base`` generates (its $XDG_CONFIG_HOME is ``base/config``)."""
    return Path(base) / "config" / "swiftcrypt" / "keymaster.conf"


def start_server(data_dir, log_path, *extra, env=None, wait=True):
    """Start `swiftcrypt serve --port 0` and wait for its serving line.

    The root secret goes to secret_path(log_path's folder), never to the
    user's own ~/.config. Fails the test (never skips) if the server does
    not come up. With ``wait=False`` returns the process for tests of
    refused start-ups.
    """
    cmd = [sys.executable, "-m", "swiftcrypt.cli", "serve", "--port", "0", *extra]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    full_env = dict(os.environ, XDG_CONFIG_HOME=str(Path(log_path).parent / "config"))
    full_env.pop("SWIFTCRYPT_SECRET_FILE", None)
    full_env.update(env or {})
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=full_env)
    log.close()
    if not wait:
        return proc
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                url = serving_url(line)
                if url:
                    return Server(proc, url, data_dir and str(data_dir),
                                  str(log_path))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        pytest.fail("swiftcrypt serve did not start:\n" + f.read())


def temp_files(data_dir):
    """Files anywhere under ``<data_dir>/tmp`` (each store process writes
    in a directory of its own there)."""
    return [name for _d, _s, files in os.walk(os.path.join(data_dir, "tmp"))
            for name in files]


class Markers:
    """Plaintext that must never reach the data dir."""

    def __init__(self):
        self.items = []

    def new(self, label="m"):
        """A fresh ASCII marker (registered)."""
        value = "%s-%s" % (label, uuid.uuid4().hex)
        self.items.append(value.encode("utf-8"))
        return value

    def add(self, raw):
        """Register raw bytes (e.g. a slice of a random body)."""
        assert len(raw) >= 16, "markers must be long enough not to match by chance"
        self.items.append(bytes(raw))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared encrypting server."""
    base = tmp_path_factory.mktemp("serve")
    srv = start_server(base / "data", base / "server.log")
    yield srv
    srv.stop()


STANDALONE = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "standalone.conf")


@pytest.fixture(scope="session")
def meta_server(tmp_path_factory):
    """A server with encrypt_account_metadata and encrypt_container_metadata
    on (its own data dir: the shared server's scan expects account and
    container metadata stored plainly)."""
    base = tmp_path_factory.mktemp("serve-meta")
    with open(STANDALONE) as f:
        text = f.read()
    marker = "use = egg:swiftcrypt#encryption\n"
    assert marker in text
    conf = base / "meta.conf"
    conf.write_text(text.replace(marker, marker + "encrypt_container_metadata = true\n"
                                 "encrypt_account_metadata = true\n"))
    srv = start_server(base / "data", base / "server.log", "--config", str(conf))
    yield srv
    assert srv.stop() == 0


def found_in_files(root, needles):
    """``{needle: [paths]}`` of the (UTF-8) ``needles`` found in any file
    under ``root``."""
    found = {}
    for path, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(path, name), "rb") as f:
                data = f.read()
            for needle in needles:
                if needle.encode("utf-8") in data:
                    found.setdefault(needle, []).append(os.path.join(path, name))
    return found


@pytest.fixture(scope="session")
def markers():
    """The session's plaintext marker register."""
    return Markers()


@pytest.fixture
def http():
    """A requests session."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def container(server, http):
    """A fresh container URL."""
    url = "%s/v1/AUTH_test/c-%s" % (server.url, uuid.uuid4().hex[:12])
    assert http.put(url).status_code == 201
    return url


def pytest_collection_modifyitems(session, config, items):
    """Run the data-dir scan after every test that writes markers."""
    last = [item for item in items if item.name == SCAN_TEST]
    items[:] = [item for item in items if item.name != SCAN_TEST] + last
