"""swiftcrypt.crypto.workers: calls run in order on a real OS thread, errors reach
the holder at sync and not the next holder, and the pool is bounded."""

import threading
import time

import pytest

from swiftcrypt.crypto import workers


def _checkout():
    for _ in range(200):  # released workers go idle asynchronously
        worker = workers.Worker.checkout()
        if worker is not None:
            return worker
        time.sleep(0.01)
    raise AssertionError("no worker came free")


def test_calls_run_in_order_on_another_thread():
    worker = _checkout()
    seen = []
    for i in range(50):
        worker.submit(lambda i: seen.append((i, threading.get_ident())), i)
    worker.sync()
    worker.release()
    assert [i for i, _t in seen] == list(range(50))
    assert {t for _i, t in seen} != {threading.get_ident()}


def test_an_error_is_raised_at_sync_then_cleared():
    worker = _checkout()

    def fail(_arg):
        raise ValueError("in the worker")

    worker.submit(fail, None)
    with pytest.raises(ValueError, match="in the worker"):
        worker.sync()
    worker.submit(lambda _arg: None, None)
    worker.sync()  # nothing left to raise
    worker.release()


def test_an_error_left_behind_does_not_reach_the_next_holder():
    worker = _checkout()
    worker.submit(lambda _arg: 1 / 0, None)
    worker.release()  # let go without sync: nobody wants the error now
    for _ in range(workers.MAX_WORKERS + 1):
        other = _checkout()
        other.sync()
        other.release()


def test_the_pool_is_bounded():
    held = []
    try:
        while True:
            worker = workers.Worker.checkout()
            if worker is None:
                break
            held.append(worker)
            assert len(held) <= workers.MAX_WORKERS
    finally:
        for worker in held:
            worker.release()
    assert workers.Worker._count <= workers.MAX_WORKERS
