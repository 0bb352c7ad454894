"""Encrypting an object body as it streams, and the metadata that records
how (the crypto sysmeta the object server stores beside the ciphertext).

Bytes in, bytes and dicts out; the WSGI encrypter drives it. A PUT needs
two MD5s (the plaintext's for the client, the ciphertext's for the object
server), which cost ten times the AES: for a body declared large, or past
the first ``INLINE_BYTES`` of one of unknown size, the plaintext MD5 runs
on a worker thread (``swiftcrypt.crypto.workers``; hashlib releases the GIL) while
the caller encrypts and hashes the ciphertext. A second worker for the
ciphertext MD5 measured slower on two cores: three threads contending for
the GIL cost more than the AES it would have overlapped. A store that
hashes what it writes, reading straight from the encrypter in one process,
takes the ciphertext MD5 over (``hand_off_ciphertext_hash``; the rules are
in ``swiftcrypt.common.environ``): one MD5 pass less per PUT.
"""

import weakref

from swiftcrypt.common.checksums import md5
from swiftcrypt.common.names import BODY_META, ETAG, ETAG_MAC
from swiftcrypt.crypto import ciphers, cryptometa
from swiftcrypt.crypto.derivation import etag_mac
from swiftcrypt.crypto.fast.ctr import ShortCtr
from swiftcrypt.crypto.workers import Worker

# A body is hashed inline until this much has been seen, unless its size
# is known to be at least THREADED_SIZE: then the worker takes it from the
# first byte. Handing a lone chunk to a thread costs more than it saves
# (measured: a 16 KiB PUT 86 us inline, 137 us threaded; 64-256 KiB PUTs
# 1.3-1.6x faster threaded from the start).
INLINE_BYTES = 64 * 1024
THREADED_SIZE = 64 * 1024


class BodyEncrypter:
    """Encrypts one object body under a fresh random body key.

    Nothing is generated until the first non-empty chunk: a zero-byte
    object gets no body crypto-meta, as Swift's format has it.
    """

    def __init__(self, object_key, key_id, object_cipher=None, size=None, object_mac=None):
        # ``object_mac``: a fast.hmac.Sha256Hmac of the object key (the Etag-Mac's)
        self._object_key = object_mac or object_key
        # The object key also wraps the body key and encrypts the etag: a
        # ShortCtr made once serves both (and the caller's metadata).
        self._object_cipher = object_cipher or ShortCtr(object_key)
        self._key_id = key_id
        self._ctx = None
        self._meta = None
        self._plain_md5 = None
        self._cipher_md5 = None
        self._cipher_etag_of = None  # set when whoever stores the body hashes it
        # ``size``: the body's length when known (Content-Length)
        self._inline_left = 0 if size is not None and size >= THREADED_SIZE else INLINE_BYTES
        self._worker = None  # hashes the plaintext, once a body is long
        self._finalizer = None

    @property
    def started(self):
        """True once any body byte has been encrypted."""
        return self._ctx is not None

    def _start(self):
        body_key = ciphers.random_key()
        self._meta = cryptometa.new_meta()
        self._meta["body_key"] = ciphers.wrap_key(self._object_cipher, body_key)
        self._meta["key_id"] = self._key_id
        self._ctx = ciphers.encryptor(body_key, self._meta["iv"])
        self._plain_md5 = md5()
        if self._cipher_etag_of is None:
            self._cipher_md5 = md5()

    def update(self, chunk):
        """Encrypt the next chunk of plaintext; returns its ciphertext."""
        if not chunk:
            return chunk
        if self._ctx is None:
            self._start()
        worker = self._worker
        if worker is None and (self._inline_left > 0 or not self._use_worker()):
            self._inline_left -= len(chunk)
            self._plain_md5.update(chunk)
        else:
            # the worker keeps a reference until it has hashed: bytes only
            self._worker.submit(self._plain_md5.update,
                                chunk if type(chunk) is bytes else bytes(chunk))
        ciphertext = self._ctx.update(chunk)
        if self._cipher_md5 is not None:
            self._cipher_md5.update(ciphertext)
        return ciphertext

    def hand_off_ciphertext_hash(self, etag_of):
        """Stop hashing the ciphertext: ``etag_of()`` gives its MD5 hex
        instead (a store that hashes every byte it writes; see
        swiftcrypt.common.environ). Only before the first byte: False,
        and nothing changes, once one has been encrypted."""
        if self.started:
            return False
        self._cipher_etag_of = etag_of
        return True

    def _use_worker(self):
        worker = Worker.checkout()
        if worker is None:
            self._inline_left = INLINE_BYTES  # try again later
            return False
        self._worker = worker
        # a body abandoned mid-stream still hands its worker back
        self._finalizer = weakref.finalize(self, worker.release)
        return True

    def _join_worker(self):
        if self._worker is not None:
            worker, self._worker = self._worker, None
            self._finalizer.detach()
            try:
                worker.sync()
            finally:
                worker.release()

    @property
    def plaintext_etag(self):
        if not self.started:
            return None
        self._join_worker()
        return self._plain_md5.hexdigest()

    @property
    def ciphertext_etag(self):
        if not self.started:
            return None
        if self._cipher_etag_of is not None:
            return self._cipher_etag_of()
        return self._cipher_md5.hexdigest()

    def body_footers(self):
        """The footers describing the encrypted body (empty if none was)."""
        if not self.started:
            return {}
        plain = self.plaintext_etag
        return {
            "Etag": self.ciphertext_etag,
            BODY_META: cryptometa.dump(self._meta),
            ETAG: cryptometa.encrypt_value(plain.encode("ascii"), self._object_cipher),
            ETAG_MAC: etag_mac(self._object_key, plain),
        }

