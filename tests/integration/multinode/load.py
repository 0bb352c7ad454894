"""A bounded mixed workload against every proxy of a SwiftCluster.

``Load(cluster).start()`` runs ``clients`` threads until ``stop()``: each
sends PUT, GET, HEAD, POST, COPY, DELETE, ranged and conditional GETs and
container listings to a proxy picked at random per request, on its own
container (every fourth one of the erasure-coded policy); one client also
writes a static large object, two clients one 16 MiB object each (unless
``big=False``); the other bodies are 0 bytes to 1 MiB, mostly a few KiB.
Every body read is checked against the SHA-256 of what was written, every
etag against its MD5.

A status the workload expects (404 for a name it deleted, 304/412 for its
conditional GETs, 422 for a PUT with a wrong ETag) is counted in
``expected``; any other non-2xx, a wrong body, header or listing entry, or a
connection error is a ``Failure`` (when, during which phase, which client,
operation, proxy, path, status and what was wrong). ``verify(proxy)`` reads
every object written back through one proxy.
"""

import hashlib
import http.client
import json
import random
import threading
import time
import uuid
from urllib.parse import quote, urlsplit

from swiftcrypt.common.checksums import md5

KIB, MIB = 1024, 1024 * 1024
BIG = 16 * MIB
# connection errors a client retries once, on a kept-alive connection the
# server closed meanwhile (a reloaded proxy's old worker closes idle ones)
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
         ConnectionAbortedError, http.client.BadStatusLine)
MAX_LIVE = 25  # objects a client keeps at most
OPS = (("put", 26), ("get", 20), ("head", 8), ("post", 7), ("copy", 5), ("delete", 7),
       ("range", 9), ("conditional", 8), ("listing", 5), ("get_deleted", 3))
# a request retried (Client.request) after its first attempt was carried
# out, stamped no earlier than the retry: the object servers keep that one
_KEPT_FIRST_ATTEMPT = ("a %s retried on a stale connection whose first attempt the old worker"
                       " carried out, stamped no earlier than the retry (%d: the object"
                       " servers kept it; %s)")
# why the workload expects a non-2xx of these operations (Load.expected's keys
# are "<operation> <status>")
EXPECTED_CAUSES = {
    "put-bad-etag": "a PUT whose ETag is not its body's MD5: refused, nothing stored",
    "get-deleted": "a GET of an object the client deleted",
    "get if-none-match": "If-None-Match with the object's own etag: not modified",
    "get if-match-other": "If-Match with another etag: precondition failed",
    "delete retried": "a DELETE retried on a stale connection, which the old worker"
                      " had carried out before closing it",
    "post retried": _KEPT_FIRST_ATTEMPT % ("POST", 409, "the same metadata, which the reads check"),
    "put retried": _KEPT_FIRST_ATTEMPT % ("PUT", 202, "same body, which the read-back checks"),
    "copy retried": _KEPT_FIRST_ATTEMPT % ("COPY", 202, "same body, which the read-back checks"),
    "verify deleted": "the read-back of an object the client deleted",
}


class Failure:
    """One client-visible error (see the module docstring)."""

    def __init__(self, when, phase, client, op, proxy, path, status, detail):
        self.when, self.phase, self.client, self.op = when, phase, client, op
        self.proxy, self.path, self.status, self.detail = proxy, path, status, detail

    def __repr__(self):
        return "t=%.1fs phase=%r client=%d %s via %s %s -> %s: %s" % (
            self.when, self.phase, self.client, self.op, self.proxy, self.path,
            self.status, self.detail)


class Obj:
    """What a client wrote: the object's path and what reading it must give."""

    def __init__(self, container, name, body, color, slo=False):
        self.container, self.name = container, name
        self.size = len(body)
        self.sha = hashlib.sha256(body).hexdigest()
        self.md5 = md5(body).hexdigest()
        self.color = color
        self.slo = slo
        # a copy of a static large object (or of such a copy): see op_conditional
        self.slo_copy = False
        self.sample = (body[:64], body[-64:])  # for ranged reads' checks

    @property
    def path(self):
        return "%s/%s" % (self.container, quote(self.name))


def body_of(rng, size):
    return rng.randbytes(size)


def pick_size(rng):
    roll = rng.random()
    if roll < 0.05:
        return 0
    if roll < 0.70:
        return rng.randint(1, 8 * KIB)
    if roll < 0.93:
        return rng.randint(8 * KIB, 256 * KIB)
    return rng.randint(256 * KIB, MIB)


class Client(threading.Thread):
    def __init__(self, load, index):
        super().__init__(name="load-client-%d" % index, daemon=True)
        self.load = load
        self.index = index
        self.rng = random.Random(load.seed * 100 + index)
        self.container = "%s-%02d" % (load.prefix, index)
        self.conns = {}
        self.objects = []  # live Obj
        self.deleted = []  # Obj deleted
        self.counter = 0
        self.moved = 0  # body bytes sent and received (for bench's MB/s)

    # --------------------------------------------------------------- HTTP
    def request(self, proxy, method, path, headers=None, body=None):
        """(status, headers, body) of one request; one retry on a stale
        kept-alive connection (counted in load.stale_retries)."""
        headers = dict(headers or {}, **{"X-Auth-Token": self.load.token})
        self.retried = False
        url = self.load.paths[proxy] + "/" + path if path else self.load.paths[proxy]
        for attempt in (0, 1):
            conn = self.conns.get(proxy)
            fresh = conn is None
            if fresh:
                conn = http.client.HTTPConnection(*self.load.hosts[proxy], timeout=60)
                self.conns[proxy] = conn
            try:
                conn.request(method, url, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.moved += len(body or b"") + len(data)
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    self.conns.pop(proxy, None)
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except STALE:
                conn.close()
                self.conns.pop(proxy, None)
                if fresh or attempt:
                    raise
                self.load.stale(proxy, method, path)
                self.retried = True
            except BaseException:
                conn.close()
                self.conns.pop(proxy, None)
                raise
        raise AssertionError("unreachable")

    def proxy(self):
        return self.rng.choice(self.load.proxies)

    # ---------------------------------------------------------- checking
    def fail(self, op, proxy, path, status, detail):
        self.load.record(Failure(time.monotonic() - self.load.started, self.load.phase,
                                 self.index, op, proxy, path, status, detail))

    def expect(self, op, proxy, path, got, want, check=None):
        """True if ``got`` (status, headers, body) has a status in ``want``
        and passes ``check`` (a function returning an error or None)."""
        status, headers, data = got
        if status not in want:
            self.fail(op, proxy, path, status, data[:300].decode("utf-8", "replace"))
            return False
        # reported: every non-2xx, and a retry's other answer than the usual
        # (want[0]) for a request its first attempt had carried out
        if status // 100 != 2 or (op.endswith(" retried") and status != want[0]):
            self.load.count_expected(op, status)
        problem = check(headers, data) if check else None
        if problem:
            self.fail(op, proxy, path, status, problem)
            return False
        return True

    @staticmethod
    def check_object(obj, headers, data):
        if hashlib.sha256(data).hexdigest() != obj.sha:
            return "body differs: %d bytes, want %d (sha256)" % (len(data), obj.size)
        if headers.get("x-object-meta-color") != obj.color:
            return "color %r, want %r" % (headers.get("x-object-meta-color"), obj.color)
        if not obj.slo and headers.get("etag", "").strip('"') != obj.md5:
            return "etag %r, want %r" % (headers.get("etag"), obj.md5)
        return None

    def outcomes(self, op, usual, first_attempt_done):
        """``(op, statuses)`` for expect(): ``usual`` alone, or after a
        retry also ``first_attempt_done``, under "<op> retried" (see
        EXPECTED_CAUSES)."""
        if self.retried:
            return op + " retried", (usual, first_attempt_done)
        return op, (usual,)

    # -------------------------------------------------------- operations
    def new_name(self):
        self.counter += 1
        return "o-%d-%s" % (self.counter, "ü" if self.counter % 5 == 0 else "a")

    def write(self, proxy, size, name=None):
        name = name or self.new_name()
        body = body_of(self.rng, size)
        obj = Obj(self.container, name, body, "colour-%06d" % self.rng.randint(0, 999999))
        obj.phase = self.load.phase
        obj.ec = self.ec
        headers = {"X-Object-Meta-Color": obj.color, "Content-Type": "application/x-test"}
        if self.rng.random() < 0.3:
            headers["ETag"] = obj.md5
        got = self.request(proxy, "PUT", obj.path, headers, body)
        op, want = self.outcomes("put", 201, 202)
        if self.expect(op, proxy, obj.path, got, want, lambda h, d: None if got[0] == 202
                       or h.get("etag", "").strip('"') == obj.md5 else "etag %r" % h.get("etag")):
            self.objects.append(obj)
            self.load.count_write(obj.phase, proxy)

    def op_put(self, proxy):
        if self.rng.random() < 0.04:  # a wrong ETag: refused, nothing stored
            path = "%s/%s" % (self.container, quote(self.new_name()))
            got = self.request(proxy, "PUT", path, {"ETag": "0" * 32}, b"x" * 100)
            self.expect("put-bad-etag", proxy, path, got, (422,))
            return
        self.write(proxy, pick_size(self.rng))

    def some(self, sized=False):
        pool = [o for o in self.objects if o.size] if sized else self.objects
        return self.rng.choice(pool) if pool else None

    def op_get(self, proxy):
        obj = self.some()
        if obj:
            got = self.request(proxy, "GET", obj.path)
            self.expect("get", proxy, obj.path, got, (200,),
                        lambda h, d: self.check_object(obj, h, d))

    def op_head(self, proxy):
        obj = self.some()
        if obj:
            def check(headers, _data):
                if int(headers.get("content-length", -1)) != obj.size:
                    return "content-length %r, want %d" % (headers.get("content-length"),
                                                           obj.size)
                if headers.get("x-object-meta-color") != obj.color:
                    return "color %r, want %r" % (headers.get("x-object-meta-color"), obj.color)
                if not obj.slo and headers.get("etag", "").strip('"') != obj.md5:
                    return "etag %r, want %r" % (headers.get("etag"), obj.md5)
                return None
            self.expect("head", proxy, obj.path, self.request(proxy, "HEAD", obj.path),
                        (200,), check)

    def op_post(self, proxy):
        obj = self.some()
        if obj and not obj.slo:  # a POST would drop the manifest's own metadata
            color = "posted-%06d" % self.rng.randint(0, 999999)
            got = self.request(proxy, "POST", obj.path, {"X-Object-Meta-Color": color,
                                                          "Content-Type": "application/x-test"})
            op, want = self.outcomes("post", 202, 409)
            if self.expect(op, proxy, obj.path, got, want):
                obj.color = color

    def op_copy(self, proxy):
        src = self.some()
        if not src or src.size > MIB:
            return
        name = self.new_name()
        dest = "%s/%s" % (self.container, quote(name))
        if self.rng.random() < 0.5:
            got = self.request(proxy, "COPY", src.path,
                               {"Destination": "%s/%s" % (self.container, quote(name))})
        else:
            got = self.request(proxy, "PUT", dest, {"X-Copy-From": src.path,
                                                     "Content-Length": "0"}, b"")
        op, want = self.outcomes("copy", 201, 202)
        if self.expect(op, proxy, dest, got, want):
            copy = Obj.__new__(Obj)
            copy.__dict__.update(src.__dict__, name=name, slo=False,
                                 slo_copy=src.slo or src.slo_copy)
            self.objects.append(copy)

    def op_delete(self, proxy):
        obj = self.some()
        if obj and len(self.objects) > 4 and obj.size < BIG:
            got = self.request(proxy, "DELETE", obj.path)
            # a reloading proxy's old worker may carry out a request and
            # close the connection before answering: the retried DELETE
            # then finds nothing (seen in the runs; see load.stale_retries)
            op, want = self.outcomes("delete", 204, 404)
            if self.expect(op, proxy, obj.path, got, want):
                self.objects.remove(obj)
                self.deleted.append(obj)

    def op_get_deleted(self, proxy):
        if self.deleted:
            obj = self.rng.choice(self.deleted)
            self.expect("get-deleted", proxy, obj.path, self.request(proxy, "GET", obj.path),
                        (404,))

    def op_range(self, proxy):
        obj = self.some(sized=True)
        if not obj:
            return
        if self.rng.random() < 0.3:  # a suffix: the last bytes
            count = self.rng.randint(1, min(64, obj.size))
            spec, want = "bytes=-%d" % count, obj.sample[1][-count:]
        else:
            count = self.rng.randint(1, min(64, obj.size))
            spec, want = "bytes=0-%d" % (count - 1), obj.sample[0][:count]
        if obj.size <= 64 and self.rng.random() < 0.5:
            spec, want = "bytes=0-", obj.sample[0]
        got = self.request(proxy, "GET", obj.path, {"Range": spec})
        # a range covering the whole body may be answered whole (200)
        statuses = (200, 206) if len(want) == obj.size else (206,)
        self.expect("range %s" % spec, proxy, obj.path, got, statuses,
                    lambda h, d: None if d == want else "got %d bytes, not the written ones"
                    % len(d))

    def op_conditional(self, proxy):
        obj = self.some()
        # Swift (2.38.3, with or without encryption) answers If-Match with
        # a copy of an SLO's own etag 412 and If-None-Match 200: the copy
        # keeps the manifest's SLO sysmeta, which its conditional requests
        # are checked against (tests/integration/swift/test_copy_of_slo.py)
        if not obj or obj.slo or obj.slo_copy:
            return
        which = self.rng.choice(("if-match", "if-none-match", "if-match-other"))
        if which == "if-match":
            got = self.request(proxy, "GET", obj.path, {"If-Match": '"%s"' % obj.md5})
            self.expect("get if-match", proxy, obj.path, got, (200,),
                        lambda h, d: self.check_object(obj, h, d))
        elif which == "if-none-match":
            got = self.request(proxy, "GET", obj.path, {"If-None-Match": '"%s"' % obj.md5})
            self.expect("get if-none-match", proxy, obj.path, got, (304,))
        else:
            got = self.request(proxy, "GET", obj.path, {"If-Match": '"%s"' % ("f" * 32)})
            self.expect("get if-match-other", proxy, obj.path, got, (412,))

    def op_listing(self, proxy):
        known = {o.name: o for o in self.objects if not o.slo}
        path = self.container + "?format=json"

        def check(_headers, data):
            for entry in json.loads(data):
                obj = known.get(entry["name"])
                # names this client holds live: never rewritten, so a listed
                # one shows their size and plaintext MD5 (decrypted)
                if obj and (entry["bytes"] != obj.size or entry["hash"] != obj.md5):
                    return "listing of %r: %s bytes, hash %s; want %d, %s" % (
                        entry["name"], entry["bytes"], entry["hash"], obj.size, obj.md5)
            return None
        self.expect("listing", proxy, path, self.request(proxy, "GET", path), (200,), check)

    def slo(self, proxy):
        """Two segments and a manifest over them."""
        parts, manifest = [], []
        for number in range(3):
            body = body_of(self.rng, 300 * KIB + number)
            seg = Obj(self.container + "-segments", "seg-%d" % number, body, "")
            got = self.request(proxy, "PUT", seg.path, {}, body)
            if not self.expect("slo segment", proxy, seg.path, got, (201,)):
                return
            parts.append(body)
            manifest.append({"path": "/" + seg.path, "etag": seg.md5, "size_bytes": seg.size})
        color = "slo-colour-%06d" % self.rng.randint(0, 999999)
        whole = Obj(self.container, "slo-manifest", b"".join(parts), color, slo=True)
        whole.phase = self.load.phase
        whole.ec = self.ec
        got = self.request(proxy, "PUT", whole.path + "?multipart-manifest=put",
                           {"X-Object-Meta-Color": color}, json.dumps(manifest).encode())
        if self.expect("slo manifest", proxy, whole.path, got, (201,)):
            self.objects.append(whole)
            self.load.count_write(whole.phase, proxy)

    @property
    def ec(self):
        return self.index % 4 == 3

    def setup(self):
        """Create this client's containers (before the clock starts: a
        fresh account's autocreation under 16 concurrent first PUTs is
        not what is tested)."""
        proxy = self.proxy()
        for container in (self.container, self.container + "-segments"):
            headers = {"X-Storage-Policy": "ec"} if self.ec else {}
            status, _h, body = self.request(proxy, "PUT", container, headers)
            if status not in (201, 202):
                raise AssertionError("container PUT %s: %s %r" % (container, status, body))

    def timed(self, op, do):
        """``do(proxy)`` through a proxy picked at random, counted as an
        ``op`` (Load.count_op)."""
        proxy = self.proxy()
        moved, began = self.moved, time.monotonic()
        try:
            do(proxy)
        except Exception as exc:  # a connection error is client-visible
            self.fail(op, proxy, "", None, "%s: %s" % (type(exc).__name__, exc))
        self.load.count_op(op, self.moved - moved, time.monotonic() - began)

    def run(self):
        try:
            if self.index in (0, 1) and self.load.big:  # the two 16 MiB objects
                self.timed("put 16 MiB", lambda proxy: self.write(proxy, BIG))
            if self.index == 2:
                self.timed("slo put", self.slo)
            ops = [name for name, _w in OPS]
            weights = [w for _n, w in OPS]
            while not self.load.stopping.is_set():
                op = self.rng.choices(ops, weights)[0]
                if op == "put" and len(self.objects) >= MAX_LIVE:
                    op = "get"  # bounded: the verify afterwards reads them all
                self.timed(op, getattr(self, "op_" + op))
                # a client's think time: the load stays heavy without
                # starving the reloading proxy of the two cores
                time.sleep(self.load.think)
        finally:
            for conn in self.conns.values():
                conn.close()


class Load:
    """``clients`` threads against ``cluster``'s proxies (see the module)."""

    def __init__(self, cluster, clients=16, seed=None, account=("test", "tester"), think=0.1,
                 big=True):
        self.cluster = cluster
        self.think = think
        self.big = big  # clients 0 and 1 write their 16 MiB object
        self.proxies = list(cluster.proxy_names)
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.prefix = "load-" + uuid.uuid4().hex[:6]
        url, self.token = cluster.auth(*account)
        account_path = urlsplit(url).path
        self.paths = {p: account_path for p in self.proxies}
        self.hosts = {p: urlsplit(cluster.proxy_url(p)).netloc.split(":") for p in self.proxies}
        self.hosts = {p: (h, int(port)) for p, (h, port) in self.hosts.items()}
        self.clients = [Client(self, i) for i in range(clients)]
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.failures = []
        self.expected = {}
        self.written = {}  # (phase, proxy) -> objects written (count_write)
        self.wrote = threading.Condition(self.lock)
        self.stale_retries = []
        self.phase = "start"
        self.phases = []
        self.ops = 0
        self.per_op = {}  # op -> {"ops", "bytes", "seconds"} (count_op)
        self.prepared = False
        self.started = None
        self.stopped = None

    def record(self, failure):
        with self.lock:
            self.failures.append(failure)

    def count_op(self, op, nbytes, seconds):
        """One operation of kind ``op`` done: body bytes moved, time taken."""
        with self.lock:
            self.ops += 1
            per = self.per_op.setdefault(op, {"ops": 0, "bytes": 0, "seconds": 0.0})
            per["ops"] += 1
            per["bytes"] += nbytes
            per["seconds"] += seconds

    def count_write(self, phase, proxy):
        """An object PUT through ``proxy`` during ``phase`` was stored."""
        with self.wrote:
            self.written[phase, proxy] = self.written.get((phase, proxy), 0) + 1
            self.wrote.notify_all()

    def wait_for_writes(self, phase, timeout=120.0):
        """Wait until an object written during ``phase`` was stored
        through every proxy (a loaded host may take a while: clients at
        MAX_LIVE write only after a delete); False if ``timeout`` passed."""
        def done():
            return all(self.written.get((phase, p)) for p in self.proxies)

        with self.wrote:
            return self.wrote.wait_for(done, timeout)

    def count_expected(self, op, status):
        with self.lock:
            key = "%s %d" % (op, status)
            self.expected[key] = self.expected.get(key, 0) + 1

    def stale(self, proxy, method, path):
        with self.lock:
            # (before start(): a container PUT of setup(), at 0 s)
            when = time.monotonic() - self.started if self.started is not None else 0.0
            self.stale_retries.append((round(when, 1), self.phase, proxy, method))

    def set_phase(self, phase):
        self.phase = phase
        self.phases.append((round(time.monotonic() - self.started, 1), phase))

    def prepare(self):
        """Create every client's containers, once (``start`` does it if
        not done yet): e.g. before a device fails, since a container PUT
        meanwhile makes a database on a handoff device."""
        if not self.prepared:
            for client in self.clients:
                client.setup()
            self.prepared = True
        return self

    def start(self):
        self.prepare()
        self.started = time.monotonic()
        for client in self.clients:
            client.start()
        return self

    def stop(self, timeout=120):
        self.stopping.set()
        self.stopped = time.monotonic()
        for client in self.clients:
            client.join(timeout)
            if client.is_alive():
                self.record(Failure(time.monotonic() - self.started, self.phase, client.index,
                                    "join", "-", "", None, "client still busy after %ds"
                                    % timeout))

    def objects(self):
        return [o for c in self.clients for o in c.objects]

    def deleted(self):
        return [o for c in self.clients for o in c.deleted]

    def verify(self, proxy, readers=4):
        """Failures reading back every live object (and every deleted
        one's 404) through ``proxy`` (``readers`` at a time); also recorded
        in ``failures``."""
        before = len(self.failures)
        work = [(obj, True) for obj in self.objects()] + [(obj, False) for obj in self.deleted()]

        def read(index):
            reader = Client(self, 900 + index)
            try:
                for obj, live in work[index::readers]:
                    got = reader.request(proxy, "GET", obj.path)
                    if live:
                        reader.expect("verify get", proxy, obj.path, got, (200,),
                                      lambda h, d, o=obj: Client.check_object(o, h, d))
                    else:
                        reader.expect("verify deleted", proxy, obj.path, got, (404,))
            finally:
                for conn in reader.conns.values():
                    conn.close()
        threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.failures[before:]

    def summary(self):
        return {"ops": self.ops, "objects": len(self.objects()), "deleted": len(self.deleted()),
                "bytes": sum(o.size for o in self.objects()), "phases": self.phases,
                "expected non-2xx": dict(sorted(self.expected.items())),
                "written": dict(self.written),
                "stale keep-alive retries": self.stale_retries,
                "failures": self.failures}


def plaintext_at_rest(cluster, objects, paths=None):
    """(file, what) for each written body sample (its first and last 64
    bytes) or metadata value of ``objects`` found in an object server file
    (``paths``, default all) or its xattrs: there must be none."""
    from tests.integration.swift.at_rest import raw_metadata

    needles = {}
    for obj in objects:
        if obj.size >= 32:
            for sample in obj.sample:
                needles[sample] = "body of %s" % obj.path
        needles[obj.color.encode()] = "metadata value of %s" % obj.path
    found = []
    for path in paths if paths is not None else cluster.object_meta_files():
        try:
            with open(path, "rb") as fh:
                data = fh.read() + b"\0" + raw_metadata(path)
        except FileNotFoundError:  # replaced or reverted by a daemon meanwhile
            continue
        found += [(path, what) for needle, what in needles.items() if needle in data]
    return found
