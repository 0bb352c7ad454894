"""BodyEncrypter's threaded plaintext MD5: same footers as inline hashing,
and it works (real OS threads, no deadlock) under eventlet monkey-patching."""

import os
import subprocess
import sys
import time

from swiftcrypt.crypto import body as bodyencryption

from swiftcrypt.crypto import ciphers

from swiftcrypt.crypto import cryptometa

from swiftcrypt.common import checksums
from swiftcrypt.crypto import workers

SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import hashlib, os
from swiftcrypt.crypto import body as bodyencryption
from swiftcrypt.common import checksums

def one(i):
    body = os.urandom(3 << 20)
    enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": "/a/c/o"})
    out = [enc.update(body[j:j + 65536]) for j in range(0, len(body), 65536)]
    assert enc.plaintext_etag == checksums.md5(body).hexdigest()
    assert enc.ciphertext_etag == checksums.md5(b"".join(out)).hexdigest()
    return i

pool = eventlet.GreenPool(8)
assert sorted(pool.imap(one, range(16))) == list(range(16))
print("ok")
"""


def _encrypt(body, chunk=65536):
    enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": "/a/c/o"})
    out = b"".join(enc.update(body[i:i + chunk]) for i in range(0, len(body), chunk))
    return enc, out


def test_threaded_hashing_gives_the_inline_etags():
    body = os.urandom(bodyencryption.INLINE_BYTES * 4 + 12345)
    enc, out = _encrypt(body)
    footers = enc.body_footers()
    assert enc.plaintext_etag == checksums.md5(body).hexdigest()
    assert footers["Etag"] == checksums.md5(out).hexdigest()
    meta = cryptometa.load(footers[bodyencryption.BODY_META])
    key = ciphers.unwrap_key(enc._object_key, meta["body_key"])
    assert ciphers.decrypt(key, meta["iv"], out) == body


def test_abandoned_body_returns_its_worker():
    for _ in range(3 * workers.MAX_WORKERS):
        enc, _out = _encrypt(os.urandom(bodyencryption.INLINE_BYTES * 2))
        del enc  # never asked for its etag: the finalizer frees the worker
    for _ in range(50):  # workers go idle asynchronously
        enc, _out = _encrypt(os.urandom(bodyencryption.INLINE_BYTES * 3))
        if enc._worker is not None:
            break
        time.sleep(0.02)
    assert enc._worker is not None


def test_threaded_hashing_under_eventlet_monkey_patching():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_a_body_declared_large_is_threaded_from_its_first_chunk():
    body = os.urandom(bodyencryption.THREADED_SIZE)
    enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": "/a/c/o"},
                                       size=len(body))
    out = enc.update(body[:16384])
    assert enc._worker is not None  # no inline prefix to get through first
    out += enc.update(body[16384:])
    assert enc.plaintext_etag == checksums.md5(body).hexdigest()
    assert enc.ciphertext_etag == checksums.md5(out).hexdigest()


def test_small_or_unknown_bodies_start_inline():
    for size in (None, bodyencryption.THREADED_SIZE - 1):
        enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": "/a/c/o"},
                                           size=size)
        enc.update(os.urandom(16384))
        assert enc._worker is None


def test_serves_eight_concurrent_puts_all_hash_off_the_hub():
    """`swiftcrypt serve` under the bench's 8 clients: every large PUT gets
    a worker (a pool of 2 per core left half of them hashing on the hub)."""
    bodies = []
    try:
        for _ in range(8):
            enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": "/a/c/o"},
                                               size=bodyencryption.THREADED_SIZE)
            enc.update(os.urandom(16384))
            bodies.append(enc)
        assert all(enc._worker is not None for enc in bodies)
    finally:
        for enc in bodies:
            _etag = enc.plaintext_etag  # joins and releases the worker
