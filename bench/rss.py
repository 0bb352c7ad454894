"""Peak RSS growth while streaming one large object through PUT and GET.

Runs in a fresh subprocess per pipeline (``python -m bench.rss NAME SIZE``)
so that each peak is its own; the body is a repeated block, the backend
discards PUT bodies and serves GET from a repeated stored chunk, so only
the filters can hold memory.
"""

import json
import resource
import sys
import time

from . import client, pipelines


def _rss_kib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() // 1024


class _Sampler:
    """Samples this process's RSS every few milliseconds on a thread."""

    def __init__(self, interval=0.002):
        import threading

        self.peak = _rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while not self._stop.wait(interval):
            self.peak = max(self.peak, _rss_kib())

    def stop(self):
        self._stop.set()
        self._thread.join()
        return max(self.peak, _rss_kib())


class _RepeatedBody:
    """GET body of ``length`` bytes yielding one stored chunk repeatedly."""

    def __init__(self, chunk, length):
        self.chunk, self.length = chunk, length

    def __iter__(self):
        left = self.length
        while left > 0:
            n = min(left, len(self.chunk))
            yield self.chunk if n == len(self.chunk) else self.chunk[:n]
            left -= n


def stream(name, size, chunk_size=65536):
    app, backend = pipelines.make(name, chunk_size=chunk_size, keep=True)
    block = bytes(range(256)) * (chunk_size // 256)
    client.put(app, "/v1/a/c/o", block, len(block))  # real crypto headers
    stored = backend.objects["/v1/a/c/o"]
    chunk = stored.chunks[0]
    backend.keep = False
    base = _rss_kib()
    sampler = _Sampler()
    t0 = time.perf_counter()
    status, _h = client.put(app, "/v1/a/c/big", client.RepeatReader(block, size), size)
    t1 = time.perf_counter()
    assert status.startswith("201"), status
    headers = [(k, str(size) if k.lower() == "content-length" else v)
               for k, v in stored.headers]
    backend.objects["/v1/a/c/big"] = type(stored)(headers, _RepeatedBody(chunk, size), size)
    _s, _h, n, _b = client.get(app, "/v1/a/c/big")
    t2 = time.perf_counter()
    assert n == size, (n, size)
    peak = sampler.stop()
    return {"pipeline": name, "size": size, "base_rss_kib": base, "peak_rss_kib": peak,
            "growth_kib": max(0, peak - base), "put_seconds": t1 - t0,
            "get_seconds": t2 - t1}


def measure(name, size, timeout=900):
    """Run ``stream`` in a fresh interpreter; returns its dict."""
    import subprocess

    # this module by the name it was imported as: bench.rss in a checkout,
    # swiftcrypt_bench.rss when installed
    module = __spec__.name if __name__ == "__main__" else __name__
    out = subprocess.run([sys.executable, "-m", module, name, str(size)],
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(stream(sys.argv[1], int(sys.argv[2]))))
