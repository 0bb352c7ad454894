"""Over HTTP: ``swiftcrypt serve`` processes on 127.0.0.1, one per pipeline
(the embedded store alone, under Swift's own crypto filters, under
swiftcrypt's), each loaded by the same concurrent clients in turn. Each
keymaster reads the root secret `swiftcrypt serve` generates into the
run's temporary folder (--secret-file), never the user's own (Swift's
keymaster refuses a secret inline beside that path)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from swiftcrypt.cli.serve import serving_url

from . import httpload, pipelines

START_TIMEOUT = 60

# the egg whose keymaster and encryption filters each pipeline uses
_EGGS = {"none": None, "swift": "swift", "swiftcrypt": "swiftcrypt"}

_FILTERS = """
[filter:keymaster]
use = egg:%(egg)s#keymaster
keymaster_config_path = %%(keymaster_config_path)s

[filter:encryption]
use = egg:%(egg)s#encryption
"""


def config_text(name, data_dir):
    """The paste config of pipeline ``name`` over a store in ``data_dir``."""
    egg = _EGGS[name]
    middle = "" if egg is None else " keymaster encryption"
    filters = "" if egg is None else _FILTERS % {"egg": egg}
    return ("[pipeline:main]\npipeline = gatekeeper%s store\n\n"
            "[filter:gatekeeper]\n"
            "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n"
            "%s\n[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %s\n"
            % (middle, filters, data_dir))


class Serve:
    """One ``swiftcrypt serve`` subprocess, stopped on exit."""

    def __init__(self, name, base):
        self.name = name
        self.dir = os.path.join(base, name)
        os.makedirs(os.path.join(self.dir, "data"))
        self.conf = os.path.join(self.dir, "proxy.conf")
        with open(self.conf, "w") as f:
            f.write(config_text(name, os.path.join(self.dir, "data")))
        self.log = os.path.join(self.dir, "serve.log")
        self.proc = None
        self.url = None

    def __enter__(self):
        cmd = [sys.executable, "-m", "swiftcrypt.cli", "serve", "--port", "0",
               "--config", self.conf, "--data-dir", os.path.join(self.dir, "data"),
               "--secret-file", os.path.join(self.dir, "keymaster.conf")]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                for line in f:
                    url = serving_url(line)
                    if url:
                        self.url = url + "/v1/AUTH_bench"
                        return self
            time.sleep(0.05)
        self.__exit__()
        with open(self.log, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("swiftcrypt serve (%s) did not start:\n%s" % (self.name, f.read()))

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measure(names, size, clients, rounds, progress=None):
    """``{name: [result dict per round]}``, rounds interleaved, for each
    pipeline of ``names`` that can run (Swift's needs swift importable)."""
    names = pipelines.available(names)
    data = os.urandom(size)
    base = tempfile.mkdtemp(prefix="swiftcrypt-bench-")
    out = {name: [] for name in names}
    servers = []
    try:
        for name in names:
            server = Serve(name, base)
            servers.append(server.__enter__())
            httpload.ensure_container(server.url, "", "bench")
        for rnd in range(rounds):
            k = rnd % len(servers)
            for server in servers[k:] + servers[:k]:
                out[server.name].append(
                    httpload.load(server.url, "", "bench", data, clients))
                if progress is not None:
                    progress.step("serve %s" % server.name)
    finally:
        for server in servers:
            server.__exit__()
        shutil.rmtree(base, ignore_errors=True)
    return out
