"""AES-256-CTR over large chunks through the system OpenSSL libcrypto,
called with ctypes (a fast path: see ``swiftcrypt.crypto.fast``).
Reference: ``swiftcrypt.crypto.ciphers.AesCtr`` (cryptography's CTR mode);
same output, checked by tests/unit/test_fast_evp.py on random keys, IVs
(the counter wrapping at 2**128 included), offsets and lengths across block
boundaries, from several threads at once.

Why: a GET body's AES ran on the hub, the one thread that serves every
request of ``swiftcrypt serve`` (about 0.17 s/GB beside 0.5 s/GB of pread
and send). On a worker thread it runs beside the hub
(``swiftcrypt.crypto.body.BodyDecrypter``) if the call releases the GIL:
a ctypes call into a C library always does. cryptography 51's ``update``
turned out to release it as well (the counting test passes with it), and
the offload through it measured close behind (serve GET 0.86-0.89 of
unencrypted against 0.87-0.94 here, bench/results/README.md), so it is the
reference and the fallback, not a lost cause.

FIPS: this is the host's own libcrypto, loaded with its own configuration,
so a host in FIPS mode gets its FIPS provider (AES-CTR is an approved
mode); where that refuses the cipher, ``EVP_EncryptInit_ex`` fails and
``LibcryptoCtr`` raises CryptoError rather than encrypting otherwise.

``BACKEND`` says which implementation ``decryptor`` gives (the one place
that decides): ``"libcrypto"`` when the library loads and passes a known
answer test at import, else ``"cryptography"`` (the reference), logged
once at debug level with the reason. Keys are never logged.
"""

import ctypes
import ctypes.util
import logging

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.ciphers import BLOCK_SIZE, IV_SIZE, KEY_SIZE

_log = logging.getLogger(__name__)

# EVP_EncryptUpdate takes an int length: larger inputs go in slices
_MAX_UPDATE = 1 << 30


def _load():
    """The libcrypto CDLL with its prototypes declared, or raise OSError."""
    name = ctypes.util.find_library("crypto")
    if name is None:
        raise OSError("no libcrypto found")
    lib = ctypes.CDLL(name)  # CDLL (not PyDLL): calls release the GIL
    vp, cp, ip, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
    lib.EVP_CIPHER_CTX_new.restype = vp
    lib.EVP_CIPHER_CTX_new.argtypes = []
    lib.EVP_CIPHER_CTX_free.restype = None
    lib.EVP_CIPHER_CTX_free.argtypes = [vp]
    lib.EVP_aes_256_ctr.restype = vp
    lib.EVP_aes_256_ctr.argtypes = []
    lib.EVP_EncryptInit_ex.restype = i
    lib.EVP_EncryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
    lib.EVP_EncryptUpdate.restype = i
    # the output is a raw address (into a bytes object being built)
    lib.EVP_EncryptUpdate.argtypes = [vp, vp, ip, cp, i]
    return lib


_lib = None
_cipher = None

# A new bytes object of a given size, uninitialised, and its buffer: what
# C code does to build bytes without a copy (the object is ours alone
# until update returns it).
_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = [ctypes.c_char_p, ctypes.c_ssize_t]
_bytes_buffer = ctypes.pythonapi.PyBytes_AsString
_bytes_buffer.restype = ctypes.c_void_p
_bytes_buffer.argtypes = [ctypes.py_object]


class LibcryptoCtr:
    """An AES-256-CTR keystream positioned at a byte offset, computed by
    libcrypto with the GIL released. Same interface and output as
    ``ciphers.AesCtr``; one instance is one stream: use it from one thread
    at a time."""

    __slots__ = ("_ctx", "__weakref__")

    def __init__(self, key, iv, offset=0):
        if _lib is None:
            raise CryptoError("libcrypto is not available")
        if type(key) is not bytes or len(key) != KEY_SIZE:
            ciphers.check_key(key)
            key = bytes(key)
        if type(iv) is not bytes or len(iv) != IV_SIZE:
            ciphers.check_iv(iv)
            iv = bytes(iv)
        if offset < 0:
            raise ValueError("offset must not be negative")
        self._ctx = None
        ctx = _lib.EVP_CIPHER_CTX_new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        self._ctx = ctx
        counter = iv if not offset else ciphers.counter_block(iv, offset)
        if _lib.EVP_EncryptInit_ex(ctx, _cipher, None, key, counter) != 1:
            raise CryptoError("libcrypto refused AES-256-CTR")
        skip = offset % BLOCK_SIZE
        if skip:
            self.update(bytes(skip))  # the keystream before ``offset`` in its block

    def __del__(self):
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx and _lib is not None:
            _lib.EVP_CIPHER_CTX_free(ctx)

    def update(self, data):
        """Return ``data`` XORed with the next ``len(data)`` keystream bytes."""
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        if not n:
            return b""
        out = _new_bytes(None, n)
        self._crypt(data, _bytes_buffer(out), n)
        return out

    def update_into(self, data, out):
        """Like update, writing into ``out`` (a writable buffer of at least
        ``len(data)`` bytes); returns ``len(data)``."""
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        view = memoryview(out).cast("B")
        if view.readonly or len(view) < n:
            raise ValueError("out must be writable and at least len(data) bytes")
        if n:
            target = (ctypes.c_char * len(view)).from_buffer(view)
            self._crypt(data, ctypes.addressof(target), n)
        return n

    def _crypt(self, data, address, n):
        ctx = self._ctx
        if not ctx:
            raise CryptoError("cipher context is closed")
        written = ctypes.c_int()
        done = 0
        while done < n:
            step = min(n - done, _MAX_UPDATE)
            source = data if not done and step == n else data[done:done + step]
            if _lib.EVP_EncryptUpdate(ctx, address + done, ctypes.byref(written),
                                      source, step) != 1 or written.value != step:
                raise CryptoError("libcrypto AES-256-CTR update failed")
            done += step


def _known_answer():
    # NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first block
    key = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    iv = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    expected = bytes.fromhex("601ec313775789a5b7a7f504bbf3d228")
    if LibcryptoCtr(key, iv).update(plain) != expected:
        raise CryptoError("known answer test failed")


def _choose():
    global _lib, _cipher
    try:
        _lib = _load()
        _cipher = _lib.EVP_aes_256_ctr()
        if not _cipher:
            raise CryptoError("EVP_aes_256_ctr returned NULL")
        _known_answer()
    except (OSError, AttributeError, CryptoError, MemoryError) as err:
        _lib = _cipher = None
        _log.debug("AES-CTR for large bodies: cryptography (libcrypto unusable: %s)", err)
        return "cryptography"
    _log.debug("AES-CTR for large bodies: libcrypto (GIL released)")
    return "libcrypto"


#: "libcrypto" or "cryptography": what ``decryptor`` gives
BACKEND = _choose()


def decryptor(key, iv, offset=0):
    """An AES-CTR stream at ``offset`` from the chosen backend: a
    LibcryptoCtr, or the reference ``ciphers.AesCtr`` without libcrypto."""
    if BACKEND == "libcrypto":
        return LibcryptoCtr(key, iv, offset)
    return ciphers.AesCtr(key, iv, offset)
