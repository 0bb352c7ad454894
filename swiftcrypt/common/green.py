"""Concurrency that works under eventlet and without it.

Swift's proxy monkey-patches threads, so ``threading`` is green there;
``swiftcrypt serve`` patches sockets but not threads (its store needs
real locks), so there a ``threading.Event`` wait would block the whole
hub. When eventlet has patched sockets, background work and waits use
eventlet's own green primitives; otherwise real threads.
"""

import sys
import threading


def _eventlet():
    eventlet = sys.modules.get("eventlet")
    if eventlet is None:
        return None
    try:
        from eventlet import patcher
        if patcher.is_monkey_patched("socket"):
            return eventlet
    except Exception:  # pragma: no cover - an eventlet we do not know
        pass
    return None


def spawn(func, *args):
    """Run ``func(*args)`` in the background (a green thread under
    eventlet, else a daemon thread); its exceptions are its own."""
    eventlet = _eventlet()
    if eventlet is not None:
        eventlet.spawn_n(func, *args)
    else:
        threading.Thread(target=func, args=args, daemon=True).start()


class Event:
    """A one-shot event: ``set()`` once, ``wait(timeout)`` any number."""

    def __init__(self):
        eventlet = _eventlet()
        if eventlet is not None:
            from eventlet.event import Event as GreenEvent
            self._green = GreenEvent()
            self._event = None
        else:
            self._green = None
            self._event = threading.Event()

    def set(self):
        if self._green is not None:
            if not self._green.ready():
                self._green.send(True)
        else:
            self._event.set()

    def wait(self, timeout=None):
        if self._green is not None:
            if self._green.ready():
                return True
            from eventlet import timeout as green_timeout
            with green_timeout.Timeout(timeout, False):
                self._green.wait()
            return self._green.ready()
        return self._event.wait(timeout)


def off_hub(func, *args):
    """``func(*args)`` for a blocking system call (an fsync): under
    eventlet in an OS thread of its pool (``eventlet.tpool``), so that the
    hub serves other requests meanwhile, as Swift's object server does
    for its fsyncs; otherwise simply called. Its result or exception."""
    eventlet = _eventlet()
    if eventlet is None:
        return func(*args)
    from eventlet import tpool
    return tpool.execute(func, *args)
