"""Real OS threads for the CPU work of one request: MD5 and AES.

hashlib and cryptography both release the GIL while they work on a buffer,
so a second OS thread gives a large PUT or GET a second core. Eventlet runs
Swift's proxy and ``swiftcrypt serve``; a green thread would share the hub's
OS thread (no parallelism, and a blocking wait on it would deadlock the
hub), so workers are started with the unpatched ``_thread`` module and talk
through C ``_queue.SimpleQueue``s, which eventlet does not patch: a blocked
``get`` waits on an OS lock with the GIL released.

A request holds a worker only while it streams a large body; the pool is
bounded (``MAX_WORKERS``) and a request that finds none free does its work
inline, so a busy proxy degrades to one thread per request rather than
queueing behind others.
"""

import _queue
import os
import sys

QUEUE_DEPTH = 4  # calls in flight to one worker: bounds memory and waits
MAX_WORKERS = 2 * (os.cpu_count() or 1)


def _thread_module():
    # Eventlet is imported only if the process already has: only then can
    # it have patched anything.
    if "eventlet" in sys.modules:
        from eventlet import patcher
        return patcher.original("_thread")
    import _thread
    return _thread


class Worker:
    """One OS thread that runs submitted calls in order.

    ``submit`` blocks (with the GIL released) while QUEUE_DEPTH calls are
    in flight, so a producer faster than its worker waits no longer than
    doing the work itself would take. An exception in a call is kept and
    raised by the next ``sync``.
    """

    _idle = []
    _count = 0
    _lock = None

    def __init__(self):
        self._work = _queue.SimpleQueue()
        self._credits = _queue.SimpleQueue()
        for _ in range(QUEUE_DEPTH):
            self._credits.put(True)
        self._error = None
        _thread_module().start_new_thread(self._run, ())

    @classmethod
    def checkout(cls):
        """An idle worker, a new one, or None when MAX_WORKERS are busy."""
        if cls._lock is None:
            cls._lock = _thread_module().allocate_lock()
        with cls._lock:
            if cls._idle:
                return cls._idle.pop()
            if cls._count >= MAX_WORKERS:
                return None
            cls._count += 1
        try:
            return cls()
        except RuntimeError:  # the system cannot start a thread: work inline
            with cls._lock:
                cls._count -= 1
            return None

    def _run(self):
        work, credits = self._work, self._credits
        while True:
            function, arg = work.get()
            if function is None:
                # a sync point; ``arg`` is the queue its waiter blocks on, or
                # None when the holder let go without waiting
                if arg is not None:
                    arg.put(True)
                else:
                    self._error = None  # nobody is left to raise it to
                    with self._lock:
                        self._idle.append(self)
                continue
            try:
                function(arg)
            except BaseException as err:  # raised to the holder on sync
                self._error = err
            finally:
                credits.put(True)

    def submit(self, function, arg):
        """Run ``function(arg)`` on this worker after the calls before it.

        ``arg`` must not change until the next ``sync``: pass bytes, not a
        buffer the caller will reuse.
        """
        self._credits.get()
        self._work.put((function, arg))

    def sync(self):
        """Wait until every submitted call has run; raise what one raised."""
        done = _queue.SimpleQueue()
        self._work.put((None, done))
        done.get()
        error, self._error = self._error, None
        if error is not None:
            raise error

    def release(self):
        """Hand the worker back to the pool once its queued calls have run."""
        self._work.put((None, None))

