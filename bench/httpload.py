"""Throughput over HTTP: N concurrent clients (OS threads, http.client)
each PUTting then GETting objects of one size against a storage URL, and
the CPU the load generator itself used meanwhile (on a machine with few
cores it is part of the bound: what it uses the server cannot)."""

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


def load(url, token, container, data, clients=1, requests=4, server_cpu=None):
    """Each client PUTs ``requests`` objects then GETs them back.

    Returns ``{"put": bytes/s, "get": bytes/s, "put_latency": median s,
    "get_latency": median s, "put_client_cpu": cores, "get_client_cpu":
    cores}`` aggregated over all clients; ``<op>_client_cpu`` is this
    process's CPU time over the phase's wall time (1.0: one core busy).
    ``server_cpu``, a function giving the server's CPU seconds so far,
    adds ``<op>_server_cpu`` likewise.
    """
    headers = {"X-Auth-Token": token, "Content-Type": "application/octet-stream"}
    lat = {"put": [], "get": []}
    spans = {"put": [], "get": []}
    errors = []
    marks = []  # (wall, our CPU, server CPU) as the last client enters each phase

    def mark():
        marks.append((time.perf_counter(), time.process_time(),
                      server_cpu() if server_cpu is not None else 0.0))

    barrier = threading.Barrier(clients, action=mark)

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
            barrier.wait()  # the GETs' end mark
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
    for op, (begin, end) in zip(("put", "get"), zip(marks, marks[1:])):
        wall = end[0] - begin[0]
        out[op + "_client_cpu"] = (end[1] - begin[1]) / wall
        if server_cpu is not None:
            out[op + "_server_cpu"] = (end[2] - begin[2]) / wall
    return out
