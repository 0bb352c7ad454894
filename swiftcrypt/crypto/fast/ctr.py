"""AES-256-CTR for many short values under one key, built by hand on ECB
(a fast path: see ``swiftcrypt.crypto.fast``). Reference: cryptography's
CTR mode (``swiftcrypt.crypto.ciphers.AesCtr``); same output, checked by
tests/unit/test_fast_ctr.py on random keys, IVs (the counter wrapping at
2**128 included) and lengths across block boundaries.

Why: a CTR cipher context costs a set-up per value; a listing or a PUT
encrypts or decrypts many values of a few blocks under one key. One ECB
context per key, built once, makes each value one ECB call over its
counter blocks and an XOR.
"""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from swiftcrypt.common.boundedcache import BoundedCache
from swiftcrypt.crypto.ciphers import BLOCK_SIZE, IV_SIZE, check_iv, check_key

_COUNTER_SPACE = 1 << 128
_ECB = modes.ECB()  # stateless: one serves every ShortCtr


class ShortCtr:
    """AES-256-CTR for many short values under one key (listing etags).

    Give it where ``swiftcrypt.crypto.ciphers.encrypt`` takes a key.

    One ECB context per key, built once: each value costs one ECB call over
    its counter blocks and an XOR, not a whole cipher set-up. Same output
    as ``encrypt``/``decrypt``.
    """

    __slots__ = ("_ecb",)

    def __init__(self, key):
        check_key(key)
        self._ecb = Cipher(algorithms.AES(key), _ECB).encryptor()

    def crypt(self, iv, data):
        """``data`` XORed with the keystream of ``iv`` from offset 0."""
        if type(iv) is not bytes or len(iv) != IV_SIZE:
            check_iv(iv)
        n = len(data)
        if not n:
            return b""
        if n <= BLOCK_SIZE:
            counters = iv
        elif n <= 2 * BLOCK_SIZE:
            # keys and MD5 hex etags: two blocks, no generator
            following = int.from_bytes(iv, "big") + 1
            counters = iv + (following % _COUNTER_SPACE).to_bytes(IV_SIZE, "big")
        else:
            start = int.from_bytes(iv, "big")
            blocks = (n + BLOCK_SIZE - 1) // BLOCK_SIZE
            if start + blocks <= _COUNTER_SPACE:
                counters = b"".join((start + i).to_bytes(IV_SIZE, "big") for i in range(blocks))
            else:
                counters = b"".join(((start + i) % _COUNTER_SPACE).to_bytes(IV_SIZE, "big")
                                    for i in range(blocks))
        stream = self._ecb.update(counters)
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream[:n], "big")).to_bytes(
            n, "big")


#: ShortCtrs a ShortCtrCache keeps (an encryption filter keeps one cache):
#: the object and container keys of the objects and containers in use.
CACHE_ENTRIES = 1024


class _SharedShortCtr(ShortCtr):
    """A ShortCtr that requests on several OS threads may share. A cipher
    context is not re-entrant: cryptography refuses a second thread's
    update while one runs (RuntimeError "Already borrowed", the context
    left as it was), so that use takes a context of its own. Whatever
    the RuntimeError, a fresh context of the same key gives the right
    answer."""

    __slots__ = ("_key",)

    def __init__(self, key):
        super().__init__(key)
        self._key = key

    def crypt(self, iv, data):
        try:
            return ShortCtr.crypt(self, iv, data)
        except RuntimeError:
            return ShortCtr(self._key).crypt(iv, data)


class ShortCtrCache(BoundedCache):
    """A ShortCtr per key, reused across requests: a request's object and
    container keys are those of the request before it more often than not
    (one container, one hot object), and a cipher set-up costs about as
    much as two HMACs.

    Bounded (``common.boundedcache``). A cached context is reachable only
    by presenting its key, so it serves no request that its keymaster
    would not give the key to; ``clear()`` drops them all.
    """

    def __init__(self, max_entries=CACHE_ENTRIES):
        super().__init__(max_entries)

    def get(self, key):
        """The ShortCtr of ``key`` (32 bytes; CryptoError otherwise)."""
        if type(key) is not bytes:
            return ShortCtr(key)  # checks it; a bytes subclass is not cached
        short = self._entries.get(key)
        return short if short is not None else self.add(key, _SharedShortCtr(key))
