"""Encrypting an object body as it streams, and the metadata that records
how (the crypto sysmeta the object server stores beside the ciphertext).

Bytes in, bytes and dicts out; the WSGI encrypter drives it. A PUT needs
two MD5s (the plaintext's for the client, the ciphertext's for the object
server), which cost ten times the AES: past the first ``INLINE_BYTES`` of a
body the plaintext MD5 runs on a real OS thread (hashlib releases the GIL)
while the caller encrypts and hashes the ciphertext.
"""

import _queue
import hashlib
import os
import sys
import weakref

from swiftcrypt import ciphers, cryptometa
from swiftcrypt.keyderivation import etag_mac

EMPTY_MD5 = hashlib.md5(b"").hexdigest()

BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"
ETAG = "X-Object-Sysmeta-Crypto-Etag"
ETAG_MAC = "X-Object-Sysmeta-Crypto-Etag-Mac"
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"


INLINE_BYTES = 256 * 1024  # small bodies never touch a thread
QUEUE_DEPTH = 4  # chunks in flight to a hashing thread: bounds memory and waits
MAX_WORKERS = 2 * (os.cpu_count() or 1)  # beyond this, bodies hash inline


def _start_thread(function, args):
    """Start a real OS thread, even in a process eventlet has monkey-patched.

    A green thread would run on the hub's OS thread: no parallelism, and a
    blocking wait on it would deadlock. Eventlet is imported only if the
    process already has (only then can it have patched anything).
    """
    if "eventlet" in sys.modules:
        from eventlet import patcher
        start = patcher.original("_thread").start_new_thread
    else:
        import _thread
        start = _thread.start_new_thread
    start(function, args)


class _HashWorker:
    """A real OS thread that feeds chunks to one MD5 at a time.

    The queues are C ``_queue.SimpleQueue``s, which eventlet does not patch:
    a blocked ``get`` waits on an OS lock (releasing the GIL). The caller
    only ever waits for at most QUEUE_DEPTH chunks' hashing (a fraction of
    a millisecond), no longer than hashing them itself would take.
    """

    _idle = []
    _count = 0
    _lock = None

    def __init__(self):
        self.work = _queue.SimpleQueue()
        self.credits = _queue.SimpleQueue()
        for _ in range(QUEUE_DEPTH):
            self.credits.put(True)
        _start_thread(self._run, ())

    @classmethod
    def checkout(cls):
        """An idle worker, a new one, or None when MAX_WORKERS are busy."""
        if cls._lock is None:
            cls._lock = _HashLock.make()
        with cls._lock:
            if cls._idle:
                return cls._idle.pop()
            if cls._count >= MAX_WORKERS:
                return None
            cls._count += 1
        try:
            return cls()
        except RuntimeError:  # cannot start a thread: hash inline
            with cls._lock:
                cls._count -= 1
            return None

    def _run(self):
        work, credits = self.work, self.credits
        while True:
            md5, chunk = work.get()
            if md5 is None:
                # end of one body: tell the waiter (if any), then go idle
                if chunk is not None:
                    chunk.put(True)
                with self._lock:
                    self._idle.append(self)
                continue
            try:
                md5.update(chunk)
            finally:
                credits.put(True)

    def feed(self, md5, chunk):
        self.credits.get()  # wait while QUEUE_DEPTH chunks are in flight
        self.work.put((md5, chunk))

    def finish(self, wait):
        """End this body's stream; with ``wait``, until all is hashed."""
        done = _queue.SimpleQueue() if wait else None
        self.work.put((None, done))
        if done is not None:
            done.get()


class _HashLock:
    @staticmethod
    def make():
        if "eventlet" in sys.modules:
            from eventlet import patcher
            return patcher.original("_thread").allocate_lock()
        import _thread
        return _thread.allocate_lock()


def _release_worker(worker):
    worker.finish(wait=False)


class BodyEncrypter:
    """Encrypts one object body under a fresh random body key.

    Nothing is generated until the first non-empty chunk: a zero-byte
    object gets no body crypto-meta, as Swift's format has it.
    """

    def __init__(self, object_key, key_id, object_cipher=None):
        self._object_key = object_key
        # The object key also wraps the body key and encrypts the etag: a
        # ShortCtr made once serves both (and the caller's metadata).
        self._object_cipher = object_cipher or ciphers.ShortCtr(object_key)
        self._key_id = key_id
        self._ctx = None
        self._meta = None
        self._plain_md5 = None
        self._cipher_md5 = None
        self._inline_left = INLINE_BYTES
        self._worker = None
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
        self._plain_md5 = hashlib.md5()
        self._cipher_md5 = hashlib.md5()

    def update(self, chunk):
        """Encrypt the next chunk of plaintext; returns its ciphertext."""
        if not chunk:
            return chunk
        if self._ctx is None:
            self._start()
        worker = self._worker
        if worker is not None:
            worker.feed(self._plain_md5, chunk if type(chunk) is bytes else bytes(chunk))
        elif self._inline_left > 0 or not self._use_worker():
            self._inline_left -= len(chunk)
            self._plain_md5.update(chunk)
        else:
            self._worker.feed(self._plain_md5, chunk if type(chunk) is bytes else bytes(chunk))
        ciphertext = self._ctx.update(chunk)
        self._cipher_md5.update(ciphertext)
        return ciphertext

    def _use_worker(self):
        worker = _HashWorker.checkout()
        if worker is None:
            self._inline_left = INLINE_BYTES  # try again later
            return False
        self._worker = worker
        # a body abandoned mid-stream still hands its worker back
        self._finalizer = weakref.finalize(self, _release_worker, worker)
        return True

    def _join_worker(self):
        if self._worker is not None:
            self._finalizer.detach()
            self._worker.finish(wait=True)
            self._worker = None

    @property
    def plaintext_etag(self):
        if not self.started:
            return None
        self._join_worker()
        return self._plain_md5.hexdigest()

    @property
    def ciphertext_etag(self):
        return self._cipher_md5.hexdigest() if self.started else None

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


def listing_etag_footer(listing_etag, body_was_encrypted, container_key, key_id):
    """The encrypted container-listing etag, or None when none is needed.

    An empty body's MD5 stays plain unless there was a body: it tells
    nothing, and Swift leaves it so.
    """
    if not listing_etag:
        return None
    if listing_etag == EMPTY_MD5 and not body_was_encrypted:
        return None
    return cryptometa.encrypt_value(
        listing_etag.encode("latin-1"), container_key, key_id=key_id)
