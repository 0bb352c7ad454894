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
