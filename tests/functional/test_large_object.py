"""A 512 MiB object streamed through the pipeline in bounded memory."""

import random
import threading

import psutil
import pytest
from swiftcrypt.common.checksums import md5

SIZE = 512 * 1024 * 1024
CHUNK = 1024 * 1024
MAX_RSS_GROWTH = 64 * 1024 * 1024


def _chunks(seed):
    """Deterministic, non-repeating chunks: a random block with the chunk
    number stamped into its first bytes."""
    block = bytearray(random.Random(seed).randbytes(CHUNK))
    for i in range(SIZE // CHUNK):
        block[:8] = i.to_bytes(8, "big")
        yield bytes(block)


class PeakRSS:
    """Samples a process's RSS in a thread until stopped."""

    def __init__(self, pid):
        self.proc = psutil.Process(pid)
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_512mib_streamed_put_and_get(server, container, http, markers):
    url = container + "/big"
    # warm up code paths so their one-time allocations do not count
    assert http.put(container + "/warm", data=b"w" * 100000).status_code == 201
    assert len(http.get(container + "/warm").content) == 100000
    first = next(_chunks(7))
    markers.add(first[1000:1032])
    baseline = psutil.Process(server.proc.pid).memory_info().rss

    expected = md5()

    def body():
        for chunk in _chunks(7):
            expected.update(chunk)
            yield chunk

    with PeakRSS(server.proc.pid) as put_rss:
        put = http.put(url, data=body())
    assert put.status_code == 201, put.text
    assert put.headers["Etag"].strip('"') == expected.hexdigest()

    got = md5()
    received = 0
    with PeakRSS(server.proc.pid) as get_rss:
        with http.get(url, stream=True) as resp:
            assert resp.status_code == 200
            assert resp.headers["Content-Length"] == str(SIZE)
            for chunk in resp.iter_content(CHUNK):
                got.update(chunk)
                received += len(chunk)
    assert received == SIZE
    assert got.hexdigest() == expected.hexdigest()
    assert resp.headers["Etag"].strip('"') == expected.hexdigest()

    assert put_rss.peak - baseline < MAX_RSS_GROWTH, (put_rss.peak, baseline)
    assert get_rss.peak - baseline < MAX_RSS_GROWTH, (get_rss.peak, baseline)
    # keep the data dir small for the plaintext scan
    assert http.delete(url).status_code == 204
