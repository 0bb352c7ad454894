"""swiftcrypt.crypto.workers: calls run in order on a real OS thread, errors reach
the holder at sync and not the next holder, the pool is bounded, and under
eventlet a wait for the worker leaves the hub serving."""

import subprocess
import sys
import textwrap
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


_GREEN_WAIT_SCRIPT = textwrap.dedent("""\
    import sys, warnings
    warnings.simplefilter("ignore")
    import eventlet
    eventlet.monkey_patch(all=False, socket=True, select=True, time=True)  # as serve
    from eventlet import patcher
    from swiftcrypt.crypto import workers

    real_sleep = patcher.original("time").sleep
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            eventlet.sleep(0.01)

    def slow(item):  # an MD5 of a large chunk on a busy core
        real_sleep(0.02)
        seen.append(item)

    eventlet.spawn_n(ticker)
    eventlet.sleep(0)
    results = []
    for get in sys.argv[1:]:
        if get == "blocking":  # the reference: the hub itself waits
            workers.Worker._get = staticmethod(lambda queue: workers.Worker._get_blocking(queue))
        worker = workers.Worker.checkout()
        seen = []
        before = len(ticks)
        for i in range(20):  # QUEUE_DEPTH in flight: submit waits
            worker.submit(slow, i)
        worker.sync()  # waits for the last ones
        worker.release()
        results.append("%s %d %s" % (get, len(ticks) - before, seen == list(range(20))))
    print("\\n".join(results))
    """)


def test_under_eventlet_a_wait_for_the_worker_leaves_the_hub_serving():
    """Under serve's patching, a request waiting for its worker (a full
    queue, or the final sync) waits as a green thread: other green threads
    go on meanwhile, where the blocking reference stops them all; both run
    every call, in order."""
    out = subprocess.run([sys.executable, "-c", _GREEN_WAIT_SCRIPT, "green", "blocking"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    green, blocking = (line.split() for line in out.stdout.split("\n")[:2])
    assert green[0] == "green" and blocking[0] == "blocking"
    assert green[2] == blocking[2] == "True"  # same calls, same order
    # 20 calls of 20 ms: ~40 ticks of 10 ms while green; a blocked hub
    # ticks only between submits, when the queue has room
    assert int(green[1]) >= 15
    assert int(blocking[1]) <= 3
