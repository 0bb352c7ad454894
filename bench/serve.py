"""Over HTTP: ``swiftcrypt serve`` processes on 127.0.0.1, one per pipeline
(the embedded store alone, under Swift's own crypto filters, under
swiftcrypt's) and per ``--workers`` count, each loaded by the same
concurrent clients in turn, with the CPU the server (all its processes)
and the load generator used. Each
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


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu(pid):
    """CPU seconds (user + system) used so far by process ``pid`` and its
    live descendants (serve's workers), from /proc; 0.0 where there is none."""
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open("/proc/%d/stat" % current) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
            tasks = "/proc/%d/task" % current
            for tid in os.listdir(tasks):
                with open(os.path.join(tasks, tid, "children")) as f:
                    todo.extend(int(child) for child in f.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


class Serve:
    """One ``swiftcrypt serve`` subprocess, stopped on exit."""

    def __init__(self, name, base, workers=1):
        self.name = name
        self.workers = workers
        self.dir = os.path.join(base, "%s-w%d" % (name, workers))
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
               "--secret-file", os.path.join(self.dir, "keymaster.conf"),
               "--workers", str(self.workers)]
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

    def cpu(self):
        """CPU seconds its processes have used so far."""
        return tree_cpu(self.proc.pid)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measure(names, size, clients, rounds, progress=None, workers=(1,)):
    """``{workers: {name: [result dict per round]}}``, rounds interleaved
    over every server, for each pipeline of ``names`` that can run (Swift's
    needs swift importable) and each ``--workers`` count of ``workers``."""
    names = pipelines.available(names)
    data = os.urandom(size)
    base = tempfile.mkdtemp(prefix="swiftcrypt-bench-")
    out = {count: {name: [] for name in names} for count in workers}
    servers = []
    try:
        for count in workers:
            for name in names:
                server = Serve(name, base, count)
                servers.append(server.__enter__())
                httpload.ensure_container(server.url, "", "bench")
        for rnd in range(rounds):
            k = rnd % len(servers)
            for server in servers[k:] + servers[:k]:
                out[server.workers][server.name].append(
                    httpload.load(server.url, "", "bench", data, clients,
                                  server_cpu=server.cpu))
                if progress is not None:
                    progress.step("serve %s, %d worker(s)" % (server.name, server.workers))
    finally:
        for server in servers:
            server.__exit__()
        shutil.rmtree(base, ignore_errors=True)
    return out
