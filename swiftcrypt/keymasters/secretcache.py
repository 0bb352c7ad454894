"""A cache of values fetched from a key service that may be away.

``RefreshingCache.get(key, load)`` answers from memory while an entry is
fresh (``ttl`` seconds after it was fetched). Past ``refresh_ahead`` of
its ttl a use starts one background ``load()``, so the entry is renewed
before it expires and no request waits on the key service at the
boundary. An expired entry is loaded again in the request; however many
requests want the same key at once, only one ``load()`` runs and the
others wait for its outcome (single-flight).

When a load fails and ``transient(error)`` says the service was only
away (unreachable, timed out, 5xx), the old value keeps serving until
``ttl + stale_ttl`` after it was fetched (a "stale serve"); while the
service is known to be failing a stale serve does not wait on it again
(a background load keeps trying). Any other failure (the service
answered that the value is gone, or refused us) drops the entry and is
raised: staleness never outlives an answer.

``on_event(name)`` is told of each ``hit``, ``miss`` (a load a request
waited on) and ``stale`` serve. Keys and values are never shown.
"""

import collections
import threading
import time

from swiftcrypt.common import green

REFRESH_AHEAD = 0.75  # of the ttl: when a use starts a background refresh


class _Entry:
    __slots__ = ("value", "fetched", "ttl", "failing")

    def __init__(self, value, fetched, ttl):
        self.value = value
        self.fetched = fetched
        self.ttl = ttl
        self.failing = False


class _Flight:
    """One load in progress and, once done, its outcome."""

    def __init__(self):
        self.done = green.Event()
        self.value = None
        self.error = None


class RefreshingCache:
    """See the module docstring. ``max_entries`` bounds it (least recently
    used out first); ``ttl`` 0 caches nothing; ``ttl_of(value)``, if
    given, is a value's own ttl (e.g. shorter for a negative answer)."""

    def __init__(self, max_entries, ttl, stale_ttl=0.0, transient=lambda err: False,
                 refresh_ahead=REFRESH_AHEAD, clock=time.monotonic, on_event=None,
                 spawn=green.spawn, ttl_of=None):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self.transient = transient
        self.refresh_ahead = refresh_ahead
        self.clock = clock
        self.on_event = on_event or (lambda name: None)
        self.spawn = spawn
        self.ttl_of = ttl_of or (lambda value: self.ttl)  # a value's own ttl
        self._entries = collections.OrderedDict()
        self._flights = {}
        self._lock = threading.Lock()  # held only for bookkeeping, never across a load

    def get(self, key, load, load_missing=True):
        """The value of ``key``; see the module docstring. With
        ``load_missing`` false a key not cached at all gives None (the
        caller loads it its own way and ``put``s it)."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            known = entry is not None
            if known:
                self._entries.move_to_end(key)
                if now - entry.fetched >= entry.ttl + self.stale_ttl:
                    entry = None  # too old to serve; kept (peek) until replaced
        if entry is not None:
            age = now - entry.fetched
            if age < entry.ttl:
                self.on_event("hit")
                if age >= entry.ttl * self.refresh_ahead:
                    self._start(key, load, background=True)
                return entry.value
            if entry.failing:  # known away: serve stale at once, keep trying behind
                self.on_event("stale")
                self._start(key, load, background=True)
                return entry.value
        elif not known and not load_missing:
            return None
        self.on_event("miss")
        flight = self._start(key, load, background=False)
        flight.done.wait()
        if flight.error is None:
            return flight.value
        if self.transient(flight.error) and entry is not None and \
                self.clock() - entry.fetched < entry.ttl + self.stale_ttl:
            self.on_event("stale")
            return entry.value
        raise flight.error

    def _start(self, key, load, background):
        """The flight loading ``key``: the one in progress, else a new one
        (run here, or in the background)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight
            flight = self._flights[key] = _Flight()
        if background:
            self.spawn(self._run, key, load, flight)
        else:
            self._run(key, load, flight)
        return flight

    def _run(self, key, load, flight):
        try:
            value = load()
        except Exception as err:
            flight.error = err
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    if self.transient(err):
                        entry.failing = True
                    else:
                        del self._entries[key]
        else:
            flight.value = value
            self.put(key, value)
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def put(self, key, value):
        """Store a freshly fetched ``value`` (None: forget ``key``)."""
        ttl = None if value is None else self.ttl_of(value)
        with self._lock:
            if value is None or ttl <= 0:
                self._entries.pop(key, None)
                return
            self._entries[key] = _Entry(value, self.clock(), ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def peek(self, key):
        """The cached value of ``key`` whatever its age (None if none);
        counts nothing and loads nothing."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry.value

    def pop(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)

    def __repr__(self):  # keys and values may be secrets: never show them
        return "<RefreshingCache %d/%d entries ttl=%s stale_ttl=%s>" % (
            len(self._entries), self.max_entries, self.ttl, self.stale_ttl)
