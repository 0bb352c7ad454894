"""A dict of bounded size for values made from a key, kept across requests.

A hit is one dict lookup with no bookkeeping; when full, the first value
cached goes first. Keys and values may be secrets: never shown.
"""

import threading


class BoundedCache:
    """At most ``max_entries`` values, each made once by ``get``."""

    def __init__(self, max_entries):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries = {}
        self._lock = threading.Lock()  # for misses: eviction iterates the dict

    def get(self, key, make, *args):
        """The value cached under ``key``; on a miss ``make(*args)``'s,
        kept (unless ``make`` raises). (A subclass on a hot path may look
        in ``_entries`` itself and ``add`` on a miss.)"""
        value = self._entries.get(key)
        if value is None:
            value = self.add(key, make(*args))
        return value

    def add(self, key, value):
        """Keep ``value`` under ``key`` (the first cached out if full); returns it."""
        with self._lock:
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)

    def __repr__(self):  # keys and values may be secrets: never show them
        return "<%s %d/%d entries>" % (type(self).__name__, len(self._entries),
                                       self.max_entries)
