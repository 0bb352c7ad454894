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

Under eventlet a request that must wait for its worker (its queue is full,
or it wants the final digest) waits as a green thread: the worker wakes it
through a pipe the hub watches, and meanwhile the hub serves the other
requests. A plain blocking wait stopped the whole hub - every other
request of the process - until that one worker caught up (serve, 8
clients: most of the hub's PUT samples were in that wait).
"""

import _queue
import errno
import os
import sys

QUEUE_DEPTH = 4  # calls in flight to one worker: bounds memory and waits
# Threads, not cores: a request that finds none free hashes on the hub,
# the one core every request of the process shares. With 2 per core
# (4 here) half of serve's 8 concurrent PUTs hashed their plaintext on the
# hub (its CPU per byte 2.6 against 2.0 s/GB with every PUT's worker, in
# an in-process run of 8 green PUTs); an idle worker costs only its stack.
MAX_WORKERS = 8 * (os.cpu_count() or 1)


def _thread_module():
    # Eventlet is imported only if the process already has: only then can
    # it have patched anything.
    if "eventlet" in sys.modules:
        from eventlet import patcher
        return patcher.original("_thread")
    import _thread
    return _thread


def _green_trampoline():
    """eventlet's ``trampoline`` when eventlet has patched sockets (serve,
    Swift's proxy: a hub runs the requests), else None: block as usual."""
    eventlet = sys.modules.get("eventlet")
    if eventlet is None:
        return None
    try:
        from eventlet import patcher
        if not patcher.is_monkey_patched("socket"):
            return None
        from eventlet.hubs import trampoline
    except Exception:  # pragma: no cover - an eventlet we do not know
        return None
    return trampoline


def _os_module():
    # the real os.read/os.write: eventlet's green ones would wait on the hub
    if "eventlet" in sys.modules:
        from eventlet import patcher
        return patcher.original("os")
    return os


class Worker:
    """One OS thread that runs submitted calls in order.

    ``submit`` waits (with the GIL released; under eventlet as a green
    thread) while QUEUE_DEPTH calls are in flight, so a producer faster
    than its worker waits no longer than doing the work itself would
    take. An exception in a call is kept and raised by the next ``sync``.
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
        # the green wait's doorbell: the worker writes a byte when a
        # waiter has said (``_waiting``) that it sleeps on the read end
        self._bell_r, self._bell_w = os.pipe()
        os.set_blocking(self._bell_r, False)
        os.set_blocking(self._bell_w, False)
        self._waiting = False
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
                    self._ring()
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
                self._ring()

    def _ring(self):
        # after the put it announces: a waiter that set ``_waiting`` before
        # this test gets a byte; one that sets it after sees the put itself
        if self._waiting:
            try:
                _os_module().write(self._bell_w, b"x")
            except OSError as err:  # a full pipe already holds a wake-up
                if err.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    raise

    def _get(self, queue):
        """``queue.get()`` that, under eventlet, lets the hub serve other
        green threads until the worker puts something in ``queue``.
        (``_get_blocking`` is the plain reference: same result, but the
        whole OS thread - the hub - waits.)"""
        try:
            return queue.get(False)
        except _queue.Empty:
            pass
        trampoline = _green_trampoline()
        if trampoline is None:
            return self._get_blocking(queue)
        real_os = _os_module()
        self._waiting = True
        try:
            while True:
                try:
                    return queue.get(False)
                except _queue.Empty:
                    pass
                trampoline(self._bell_r, read=True)
                try:
                    real_os.read(self._bell_r, 4096)  # drain the wake-ups
                except BlockingIOError:
                    pass
        finally:
            self._waiting = False

    @staticmethod
    def _get_blocking(queue):
        return queue.get()

    def submit(self, function, arg):
        """Run ``function(arg)`` on this worker after the calls before it.

        ``arg`` must not change until the next ``sync``: pass bytes, not a
        buffer the caller will reuse.
        """
        self._get(self._credits)
        self._work.put((function, arg))

    def sync(self):
        """Wait until every submitted call has run; raise what one raised."""
        done = _queue.SimpleQueue()
        self._work.put((None, done))
        self._get(done)
        error, self._error = self._error, None
        if error is not None:
            raise error

    def release(self):
        """Hand the worker back to the pool once its queued calls have run."""
        self._work.put((None, None))

