"""A bounded soak of `swiftcrypt serve` on 127.0.0.1.

32 concurrent clients mix PUT (streamed and chunked), GET, ranged GET,
HEAD, POST, DELETE and listings over objects from 0 bytes to 64 MiB, for
``--soak-seconds`` (see conftest_soak.py; short by default). Every body
read is checked by SHA-256 against what was written; any unexpected
status, mismatch or exception is an error and there must be none. The
server's memory must stay flat, the data dir must never hold plaintext,
and once everything is deleted no file may be left behind.
"""

import hashlib
import os
import random
import statistics
import threading
import time
import uuid

import psutil
import requests

from swiftcrypt.cli.serve import default_config_path
from tests.functional.conftest import start_server, temp_files
from tests.functional.conftest_soak import soak_seconds
from swiftcrypt.common.checksums import md5 as new_md5

CLIENTS = 32
OBJECTS_PER_CLIENT = 3
CONTAINERS = 4
BIG = 64 * 1024 * 1024
MARK = b"SOAKPLAINTEXT"
META_MARK = "SOAKPLAINMETA"
MAX_OPS_PER_CLIENT = 100000
MAX_RSS_GROWTH = 96 * 1024 * 1024
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Body:
    """A deterministic object body: a plaintext marker, then a SHA-256
    keystream; any byte range can be produced without the rest."""

    BLOCK = 32

    def __init__(self, seed, size):
        self.seed = seed
        self.size = size
        self.head = (MARK + b"-" + seed.encode() + b"-")[:size]

    def _stream(self, start, stop):
        first_block = start // self.BLOCK
        out = bytearray()
        block = first_block
        while len(out) < stop - first_block * self.BLOCK:
            out += hashlib.sha256(b"%s:%d" % (self.seed.encode(), block)).digest()
            block += 1
        offset = first_block * self.BLOCK
        return bytes(out[start - offset:stop - offset])

    def slice(self, start, stop):
        """Bytes [start, stop) of the body."""
        stop = min(stop, self.size)
        if start >= stop:
            return b""
        head = self.head[start:stop] if start < len(self.head) else b""
        rest_start = max(start, len(self.head))
        return head + (self._stream(rest_start, stop) if rest_start < stop else b"")

    def chunks(self, size=1024 * 1024):
        for start in range(0, self.size, size):
            yield self.slice(start, start + size)


class Reader:
    """File-like body with a length: requests streams it with a Content-Length."""

    def __init__(self, body):
        self._chunks = body.chunks()
        self._buf = b""
        self._len = body.size

    def __len__(self):
        return self._len

    def read(self, size=-1):
        while size < 0 or len(self._buf) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        if size < 0:
            size = len(self._buf)
        out, self._buf = self._buf[:size], self._buf[size:]
        return out


class Expected:
    def __init__(self, body, sha256, md5, meta):
        self.body = body
        self.sha256 = sha256
        self.md5 = md5
        self.meta = meta


def digests(body):
    sha, etag = hashlib.sha256(), new_md5()
    for chunk in body.chunks():
        sha.update(chunk)
        etag.update(chunk)
    return sha.hexdigest(), etag.hexdigest()


class Client(threading.Thread):
    def __init__(self, number, base, containers, deadline, errors, stats):
        super().__init__(daemon=True)
        self.number = number
        self.base = base
        self.container = containers[number % len(containers)]
        self.deadline = deadline
        self.errors = errors
        self.stats = stats
        self.rng = random.Random(number)
        self.names = ["w%02d-%d" % (number, k) for k in range(OBJECTS_PER_CLIENT)]
        self.state = {}
        self.http = requests.Session()

    def url(self, name):
        return "%s/%s" % (self.container, name)

    def error(self, what):
        self.errors.append("client %d: %s" % (self.number, what))

    def count(self, op):
        self.stats[op] = self.stats.get(op, 0) + 1

    def pick_size(self):
        roll = self.rng.random()
        if roll < 0.08:
            return 0
        if roll < 0.70:
            return self.rng.randint(1, 64 * 1024)
        if roll < 0.98:
            return self.rng.randint(64 * 1024, 2 * 1024 * 1024)
        return self.rng.randint(8 * 1024 * 1024, BIG)

    # -- operations ------------------------------------------------------

    def put(self, name, size=None):
        size = self.pick_size() if size is None else size
        body = Body("%d-%s-%s" % (self.number, name, uuid.uuid4().hex[:8]), size)
        sha, md5 = digests(body)
        meta = "%s-%s" % (META_MARK, uuid.uuid4().hex[:8])
        headers = {"X-Object-Meta-Soak": meta}
        if self.rng.random() < 0.3:
            data = body.chunks(256 * 1024)  # chunked transfer encoding
        else:
            data = Reader(body)
        if self.rng.random() < 0.5:
            headers["Etag"] = md5
        resp = self.http.put(self.url(name), data=data, headers=headers)
        if resp.status_code != 201 or resp.headers.get("Etag", "").strip('"') != md5:
            self.error("PUT %s: %s %r" % (name, resp.status_code, resp.headers.get("Etag")))
            return
        self.state[name] = Expected(body, sha, md5, meta)
        self.count("PUT")

    def get(self, name):
        expected = self.state.get(name)
        with self.http.get(self.url(name), stream=True) as resp:
            if expected is None:
                if resp.status_code != 404:
                    self.error("GET deleted %s: %s" % (name, resp.status_code))
                return self.count("GET")
            sha = hashlib.sha256()
            size = 0
            for chunk in resp.iter_content(1024 * 1024):
                sha.update(chunk)
                size += len(chunk)
        if resp.status_code != 200 or sha.hexdigest() != expected.sha256 \
                or size != expected.body.size:
            self.error("GET %s: %s, %d bytes of %d, sha256 %s" % (
                name, resp.status_code, size, expected.body.size,
                "ok" if sha.hexdigest() == expected.sha256 else "MISMATCH"))
        elif resp.headers.get("Etag", "").strip('"') != expected.md5 or \
                resp.headers.get("X-Object-Meta-Soak") != expected.meta:
            self.error("GET %s: headers %r" % (name, dict(resp.headers)))
        self.count("GET")

    def ranged_get(self, name):
        expected = self.state.get(name)
        if expected is None or expected.body.size == 0:
            return self.get(name)
        size = expected.body.size
        start = self.rng.randrange(size)
        stop = min(size, start + self.rng.randint(1, 300000))
        resp = self.http.get(self.url(name), headers={"Range": "bytes=%d-%d" % (start, stop - 1)})
        want = hashlib.sha256(expected.body.slice(start, stop)).hexdigest()
        if resp.status_code != 206 or hashlib.sha256(resp.content).hexdigest() != want:
            self.error("ranged GET %s %d-%d: %s, %d bytes" % (
                name, start, stop - 1, resp.status_code, len(resp.content)))
        self.count("RANGE")

    def head(self, name):
        expected = self.state.get(name)
        resp = self.http.head(self.url(name))
        if expected is None:
            ok = resp.status_code == 404
        else:
            ok = (resp.status_code == 200
                  and int(resp.headers.get("Content-Length", -1)) == expected.body.size
                  and resp.headers.get("Etag", "").strip('"') == expected.md5
                  and resp.headers.get("X-Object-Meta-Soak") == expected.meta)
        if not ok:
            self.error("HEAD %s: %s %r" % (name, resp.status_code, dict(resp.headers)))
        self.count("HEAD")

    def post(self, name):
        expected = self.state.get(name)
        meta = "%s-%s" % (META_MARK, uuid.uuid4().hex[:8])
        resp = self.http.post(self.url(name), headers={"X-Object-Meta-Soak": meta})
        if expected is None:
            if resp.status_code != 404:
                self.error("POST deleted %s: %s" % (name, resp.status_code))
        elif resp.status_code != 202:
            self.error("POST %s: %s" % (name, resp.status_code))
        else:
            expected.meta = meta
        self.count("POST")

    def delete(self, name):
        expected = self.state.pop(name, None)
        resp = self.http.delete(self.url(name))
        if resp.status_code != (204 if expected is not None else 404):
            self.error("DELETE %s: %s" % (name, resp.status_code))
        self.count("DELETE")

    def listing(self):
        prefix = "w%02d-" % self.number
        resp = self.http.get(self.container, params={"format": "json", "prefix": prefix})
        if resp.status_code not in (200, 204):
            return self.error("listing: %s" % resp.status_code)
        got = {e["name"]: (e["bytes"], e["hash"]) for e in (resp.json() if resp.content else [])}
        want = {n: (e.body.size, e.md5) for n, e in self.state.items()}
        if got != want:
            self.error("listing: got %r, want %r" % (got, want))
        self.count("LIST")

    def run(self):
        ops = [(self.put, 20), (self.get, 25), (self.ranged_get, 15), (self.head, 10),
               (self.post, 10), (self.delete, 8), (None, 12)]
        weights = [w for _op, w in ops]
        try:
            # the extremes at least once: a 64 MiB object and an empty one
            if self.number == 0:
                self.put(self.names[0], BIG)
                self.get(self.names[0])
            if self.number == 1:
                self.put(self.names[0], 0)
                self.get(self.names[0])
            for _ in range(MAX_OPS_PER_CLIENT):
                if time.monotonic() >= self.deadline:
                    break
                op = self.rng.choices(ops, weights)[0][0]
                if op is None:
                    self.listing()
                else:
                    op(self.rng.choice(self.names))
            for name in self.names:  # the final state, read back whole
                self.get(name)
            self.listing()
        except Exception as err:  # a dropped connection, a timeout...
            self.error("%s: %s" % (err.__class__.__name__, err))

    def clean_up(self):
        for name in list(self.state):
            self.delete(name)


class Memory(threading.Thread):
    """Samples the server's RSS once a second."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(1.0):
            self.samples.append(self.proc.memory_info().rss)


def files_under(path):
    return [os.path.join(d, f) for d, _dirs, files in os.walk(path) for f in files]


def test_soak(tmp_path, request):
    """The embedded pipeline with verify_body on, so that every full GET
    is also checked by the server against the object's etag."""
    seconds = soak_seconds(request.config)
    with open(default_config_path()) as f:
        conf = f.read().replace("use = egg:swiftcrypt#encryption",
                                "use = egg:swiftcrypt#encryption\nverify_body = true")
    assert "verify_body = true" in conf
    (tmp_path / "soak.conf").write_text(conf)
    srv = start_server(tmp_path / "data", tmp_path / "server.log",
                       "--config", str(tmp_path / "soak.conf"), env={"PYTHONPATH": REPO})
    try:
        base = "%s/v1/AUTH_soak" % srv.url
        containers = ["%s/soak-%d" % (base, i) for i in range(CONTAINERS)]
        for url in containers:
            assert requests.put(url).status_code == 201
        memory = Memory(srv.proc.pid)
        memory.start()
        errors, stats = [], {}
        deadline = time.monotonic() + seconds
        clients = [Client(i, base, containers, deadline, errors, stats) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(seconds + 600)
            assert not client.is_alive(), "client %d hung" % client.number
        memory.stop.set()
        print("soak %.0fs: %r; server RSS MiB %r" % (
            seconds, stats, [m // 2 ** 20 for m in memory.samples]))
        assert errors == [], errors[:20]
        assert all(stats.get(op, 0) > 0 for op in
                   ("PUT", "GET", "RANGE", "HEAD", "POST", "DELETE", "LIST")), stats
        # nothing stored in plaintext: bodies carry a marker, metadata too
        for path in files_under(srv.data_dir):
            if path.endswith("keymaster.conf"):
                continue
            with open(path, "rb") as f:
                data = f.read()
            assert MARK not in data and META_MARK.encode() not in data, path
        # memory flat: the last third of the run no higher than the first
        samples = memory.samples
        assert len(samples) >= 3, samples
        third = max(1, len(samples) // 3)
        early, late = statistics.median(samples[:third]), statistics.median(samples[-third:])
        assert late - early < MAX_RSS_GROWTH, (early, late, samples)
        # everything deleted: no object file, no temp file left behind
        for client in clients:
            client.clean_up()
        assert errors == [], errors[:20]
        for url in containers:
            assert requests.delete(url).status_code == 204
        objects = [p for p in files_under(os.path.join(srv.data_dir, "objects"))]
        assert objects == []
        assert temp_files(srv.data_dir) == []
        log = srv.log_text()
        assert "Traceback" not in log and "corrupt" not in log
    finally:
        srv.stop()
