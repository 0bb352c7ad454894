"""Object expiry: ``X-Delete-At`` / ``X-Delete-After`` as Swift reads them,
and the reaper that reclaims the space of expired objects.

An expired object is gone for clients the moment its time comes: GET, HEAD
and POST answer 404 (and remove it on the spot), and listings and stats
leave it out (their queries compare ``delete_at`` with the clock). So the
reaper is not needed for correctness, only to free the disk space of
objects nobody asks for again; it runs piggybacked on requests, at most
once per ``interval`` and for at most ``batch`` objects, rather than as a
thread: nothing to start or stop, and its cost is bounded and visible.
"""

import logging
import threading
import time

MAX_DELETE_AT = 9999999999  # Swift caps times at ten digits
REAP_INTERVAL = 60.0
REAP_BATCH = 100
log = logging.getLogger("swiftcrypt.store")


class BadExpiry(ValueError):
    """An expiry header Swift would refuse; the message is the 400 body."""


def normalize(timestamp):
    """Swift's stored form of a delete-at time: ten digits, clamped."""
    return "%010d" % min(max(0, float(timestamp)), MAX_DELETE_AT)


def requested_delete_at(headers, now, method):
    """The expiry a PUT or POST gives the object: the normalized
    ``X-Delete-At`` text to store, or None for none.

    As Swift, ``X-Delete-After`` (seconds) is turned into ``X-Delete-At``
    and wins over it, and both must be integers naming a time after
    ``now``; raises BadExpiry otherwise. An empty ``X-Delete-At`` means
    none, and on a POST so does ``X-Remove-Delete-At``. A request without
    any of them gives none too: a POST replaces the expiry along with the
    rest of the metadata, as in Swift.
    """
    after = headers.get("X-Delete-After")
    if after is not None:
        try:
            seconds = int(after)
        except ValueError:
            raise BadExpiry("Non-integer X-Delete-After") from None
        value = normalize(now + seconds)
        if int(value) <= now:
            raise BadExpiry("X-Delete-After in past")
        return value
    if method == "POST" and headers.get("X-Remove-Delete-At") is not None:
        return None
    at = headers.get("X-Delete-At")
    if at is None or not at.strip():
        return None
    try:
        value = normalize(int(at))
    except ValueError:
        raise BadExpiry("Non-integer X-Delete-At") from None
    if int(value) <= now:
        raise BadExpiry("X-Delete-At in past")
    return value


def delete_at_of(meta):
    """The stored expiry of an object's metadata as an int, or None."""
    value = meta.get("X-Delete-At")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # not written by this store: never expires


def is_expired(meta, now):
    """True once ``now`` has reached the object's ``X-Delete-At``."""
    delete_at = delete_at_of(meta)
    return delete_at is not None and delete_at <= now


class Reaper:
    """Runs ``reap(now, batch)`` at most once per ``interval`` seconds,
    from whichever request comes first after that."""

    def __init__(self, reap, interval=REAP_INTERVAL, batch=REAP_BATCH, clock=time.time):
        self._reap = reap
        self._clock = clock
        self.interval = interval
        self.batch = batch
        self._next = 0.0  # the first request after start-up reaps
        self._lock = threading.Lock()

    def maybe_run(self):
        """Reap if it is time; returns how many objects were reaped. Never
        raises: the request it rides on must not fail because of it."""
        now = self._clock()
        if now < self._next or not self._lock.acquire(blocking=False):
            return 0
        try:
            self._next = now + self.interval
            return self._reap(now, self.batch)
        except OSError as err:  # a full disk, say: one line, not a traceback each time
            log.error("reaping expired objects failed: %s; retrying in %ds",
                      err.strerror or err, self.interval)
            return 0
        except Exception:
            log.exception("reaping expired objects failed; retrying in %ds", self.interval)
            return 0
        finally:
            self._lock.release()
