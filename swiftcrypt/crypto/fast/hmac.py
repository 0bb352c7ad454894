"""HMAC-SHA256 under one key for many short messages, from the key's two
padded hash states computed once (a fast path: see
``swiftcrypt.crypto.fast``). Reference: ``crypto.derivation.hmac_sha256``
(OpenSSL's HMAC through ``_hashlib``); same output, checked by
tests/unit/test_fast_hmac.py on random keys of every length and messages.

Why: OpenSSL 3 sets an HMAC up for each call (about 20k instructions for a
32-byte etag, as much as the rest of its digest); a PUT and a GET each
compute the Etag-Mac under their object's key. Copying the two states
kept for the key costs a fraction of that.
"""

import hashlib

from swiftcrypt.common.boundedcache import BoundedCache

_BLOCK = 64  # SHA-256's block size, over which HMAC pads its key
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))

#: Keys a MacCache keeps (an encryption filter keeps one).
CACHE_ENTRIES = 1024


class Sha256Hmac:
    """HMAC-SHA256 under ``key`` (bytes): ``mac(message)`` -> 32 bytes.
    Safe to share between threads (a hash object copies under its lock)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key):
        if type(key) is not bytes:
            key = bytes(key)
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def mac(self, message):
        """HMAC-SHA256(key, ``message``) as 32 bytes."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class MacCache(BoundedCache):
    """A Sha256Hmac per key, reused across requests (bounded, see
    ``common.boundedcache``; reachable only by presenting the key)."""

    def __init__(self, max_entries=CACHE_ENTRIES):
        super().__init__(max_entries)

    def get(self, key):
        """The Sha256Hmac of ``key`` (bytes; a bytes subclass is not cached)."""
        if type(key) is not bytes:
            return Sha256Hmac(key)
        keyed = self._entries.get(key)
        return keyed if keyed is not None else self.add(key, Sha256Hmac(key))
