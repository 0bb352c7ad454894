"""AES-256-CTR streams, random keys and IVs, and body-key wrapping.

Pure functions over bytes: no WSGI, no I/O. The counter block is the IV
treated as one 128-bit big-endian integer that wraps modulo 2**128, which is
what lets a stream start at any byte offset of an object.
"""

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from swiftcrypt.common import names
from swiftcrypt.common.errors import CryptoError

CIPHER = names.CIPHER
KEY_SIZE = 32
IV_SIZE = 16
BLOCK_SIZE = 16
_COUNTER_SPACE = 1 << 128


def random_key():
    """Return a fresh random 256-bit key."""
    return os.urandom(KEY_SIZE)


def random_iv():
    """Return a fresh random 16-byte initial counter block."""
    return os.urandom(IV_SIZE)


def check_key(key):
    """Raise CryptoError unless ``key`` is 32 bytes."""
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise CryptoError("key must be %d bytes" % KEY_SIZE)


def check_iv(iv):
    """Raise CryptoError unless ``iv`` is 16 bytes."""
    if not isinstance(iv, bytes) or len(iv) != IV_SIZE:
        raise CryptoError("iv must be %d bytes" % IV_SIZE)


def counter_block(iv, offset):
    """Return the counter block that covers byte ``offset`` of a stream."""
    value = (int.from_bytes(iv, "big") + offset // BLOCK_SIZE) % _COUNTER_SPACE
    return value.to_bytes(IV_SIZE, "big")


class AesCtr:
    """An AES-256-CTR keystream positioned at a byte offset.

    Encryption and decryption are the same operation in CTR mode; the two
    constructors below exist so that call sites read as what they mean.
    """

    __slots__ = ("_ctx",)

    def __init__(self, key, iv, offset=0):
        if type(key) is not bytes or len(key) != KEY_SIZE:
            check_key(key)  # raises unless a bytes subclass of the right size
        if type(iv) is not bytes or len(iv) != IV_SIZE:
            check_iv(iv)
        if offset < 0:
            raise ValueError("offset must not be negative")
        # offset 0 (every whole-object stream) starts at the IV itself
        counter = iv if not offset else counter_block(iv, offset)
        self._ctx = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
        skip = offset % BLOCK_SIZE
        if skip:
            # Consume the keystream bytes before ``offset`` in its block.
            self._ctx.update(bytes(skip))

    def update(self, data):
        """Return ``data`` XORed with the next ``len(data)`` keystream bytes."""
        return self._ctx.update(data)

    def update_into(self, data, out):
        """Like update, writing into ``out`` (at least len(data) + 15 bytes).

        Returns the number of bytes written (always ``len(data)``).
        """
        return self._ctx.update_into(data, out)


def encryptor(key, iv, offset=0):
    """Return an AesCtr that encrypts a stream starting at ``offset``."""
    return AesCtr(key, iv, offset)


def decryptor(key, iv, offset=0):
    """Return an AesCtr that decrypts a stream starting at ``offset``."""
    return AesCtr(key, iv, offset)


def encrypt(key, iv, data):
    """Encrypt a whole short value (a header, a key) in one call.

    ``key`` is 32 bytes, or a ShortCtr made from them
    (``swiftcrypt.crypto.fast.ctr``): cheaper when one key serves several
    values (a PUT's etag, body key and metadata).
    """
    crypt = getattr(key, "crypt", None)
    if crypt is not None:
        return crypt(iv, data)
    return AesCtr(key, iv).update(data)


decrypt = encrypt


def wrap_key(wrapping_key, key):
    """Encrypt ``key`` under ``wrapping_key``: returns ``{"key", "iv"}``."""
    check_key(key)
    iv = random_iv()
    return {"key": encrypt(wrapping_key, iv, key), "iv": iv}


def unwrap_key(wrapping_key, wrapped):
    """Reverse wrap_key; raises CryptoError if the result is not a key."""
    try:
        wrapped_key = wrapped["key"]
        iv = wrapped["iv"]
    except (KeyError, TypeError):
        raise CryptoError("wrapped key needs 'key' and 'iv'") from None
    check_iv(iv)
    if not isinstance(wrapped_key, bytes) or len(wrapped_key) != KEY_SIZE:
        raise CryptoError("wrapped key must be %d bytes" % KEY_SIZE)
    return decrypt(wrapping_key, iv, wrapped_key)
