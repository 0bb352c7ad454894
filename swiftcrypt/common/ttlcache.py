"""A small in-process cache: bounded size, entries expire after a TTL.

Per-account root secrets are cached here so that most requests need no
key-manager round trip, while a secret deleted in the key manager (a
crypto-shred) stops being used once its entry expires.
"""

import collections
import time


class TTLCache:
    """At most ``max_entries`` values, each valid for ``ttl`` seconds after
    it was stored; the least recently used entry goes first when full.
    ``ttl`` 0 caches nothing. ``clock`` returns seconds (monotonic)."""

    def __init__(self, max_entries, ttl, clock=time.monotonic):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.ttl = ttl
        self.clock = clock
        self._entries = collections.OrderedDict()  # key -> (expires, value)

    def get(self, key, default=None):
        """The value stored for ``key`` if it has not expired, else ``default``."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        if entry[0] <= self.clock():
            self._entries.pop(key, None)
            return default
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key, value, ttl=None):
        """Store ``value`` for ``key`` for ``ttl`` (default: the cache's) seconds."""
        ttl = self.ttl if ttl is None else ttl
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self.clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def pop(self, key):
        """Forget ``key``."""
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()

    def __len__(self):
        return len(self._entries)

    def __repr__(self):  # keys and values may be secrets: never show them
        return "<TTLCache %d/%d entries ttl=%s>" % (len(self._entries), self.max_entries, self.ttl)
