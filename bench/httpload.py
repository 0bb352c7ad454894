"""Throughput over HTTP: N concurrent clients (OS threads, http.client)
each PUTting then GETting objects of one size against a storage URL."""

import http.client
import statistics
import threading
import time
import urllib.parse
import uuid


class _Conn:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.base = parts.path.rstrip("/")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, self.base + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        total = 0
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        return resp.status, total

    def close(self):
        self.conn.close()


def ensure_container(url, token, container):
    conn = _Conn(url)
    try:
        status, _n = conn.request("PUT", "/" + container, headers={"X-Auth-Token": token})
        if status // 100 != 2:
            raise RuntimeError("container PUT: %s" % status)
    finally:
        conn.close()


def load(url, token, container, data, clients=1, requests=4):
    """Each client PUTs ``requests`` objects then GETs them back.

    Returns ``{"put": bytes/s, "get": bytes/s, "put_latency": median s,
    "get_latency": median s}`` aggregated over all clients.
    """
    headers = {"X-Auth-Token": token, "Content-Type": "application/octet-stream"}
    lat = {"put": [], "get": []}
    spans = {"put": [], "get": []}
    errors = []
    barrier = threading.Barrier(clients)

    def client(idx):
        conn = _Conn(url)
        names = ["/%s/bench-%s-%d-%d" % (container, uuid.uuid4().hex[:8], idx, i)
                 for i in range(requests)]
        try:
            for op in ("put", "get"):
                barrier.wait()
                start = time.perf_counter()
                for name in names:
                    t0 = time.perf_counter()
                    if op == "put":
                        status, _n = conn.request("PUT", name, data, headers)
                    else:
                        status, n = conn.request("GET", name, None, headers)
                        if status == 200 and n != len(data):
                            status = "short body %d" % n
                    if status not in (200, 201):
                        errors.append("%s %s: %s" % (op, name, status))
                    lat[op].append(time.perf_counter() - t0)
                spans[op].append((start, time.perf_counter()))
            for name in names:
                conn.request("DELETE", name, None, headers)
        except Exception as err:  # reported, not raised from a thread
            errors.append(repr(err))
            barrier.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    out = {}
    for op in ("put", "get"):
        wall = max(e for _s, e in spans[op]) - min(s for s, _e in spans[op])
        out[op] = len(data) * clients * requests / wall
        out[op + "_latency"] = statistics.median(lat[op])
    return out
