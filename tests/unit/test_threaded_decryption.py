"""BodyDecrypter: under eventlet a large GET chunk is decrypted on a
worker (libcrypto, GIL released) while the hub serves other green
threads; at any offset it gives the reference's plaintext. Without a hub,
and for small chunks, it decrypts inline as before."""

import os
import subprocess
import sys

from swiftcrypt.crypto import body as bodycrypto
from swiftcrypt.crypto import ciphers

SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import os
from swiftcrypt.crypto import body as bodycrypto
from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.fast import evp

assert evp.BACKEND == "libcrypto"
ticks = [0]
running = [True]
waited = [0]  # ticks while a request waited for its worker

def ticker():
    while running[0]:
        ticks[0] += 1
        eventlet.sleep(0)

def one(i):
    key, iv = os.urandom(32), os.urandom(16)
    if i % 4 == 0:
        iv = ((1 << 128) - 3).to_bytes(16, "big")  # the counter wraps
    offset = (0, 1, 15, 17, 65536 + 5)[i % 5] + i
    size = (3 << 20) + i
    cipher = ciphers.AesCtr(key, iv, offset).update(bytes(size))
    dec = bodycrypto.BodyDecrypter(key, iv, offset)
    chunks = (65536, 1000, 65536 * 2 + 7, 16, 65536)
    out, pos, k = [], 0, 0
    offloaded = 0
    while pos < size:
        n = chunks[k % len(chunks)]
        piece = cipher[pos:pos + n]
        before = ticks[0]
        out.append(dec.feed(piece))
        if len(piece) >= bodycrypto.OFFLOAD_BYTES and dec._worker is not None:
            offloaded += 1
            waited[0] += ticks[0] - before
        pos += n
        k += 1
    before = ticks[0]
    out.append(dec.finish())  # waits for the worker's last chunks
    waited[0] += ticks[0] - before
    assert dec._worker is None
    assert b"".join(out) == bytes(size), i
    return offloaded

ticker_thread = eventlet.spawn(ticker)
pool = eventlet.GreenPool(8)
offloaded = list(pool.imap(one, range(16)))
running[0] = False
ticker_thread.wait()
assert all(n > 0 for n in offloaded), offloaded
print("ticks while waiting", waited[0], "of", ticks[0])

# streams abandoned mid-way (a client gone) hand their workers back
from swiftcrypt.crypto import workers
import time
for _ in range(3 * workers.MAX_WORKERS):
    dec = bodycrypto.BodyDecrypter(os.urandom(32), os.urandom(16))
    dec.feed(bytes(1 << 17))
    assert dec._worker is not None
    del dec
for _ in range(100):  # workers go idle asynchronously
    dec = bodycrypto.BodyDecrypter(os.urandom(32), os.urandom(16))
    dec.feed(bytes(1 << 17))
    if dec._worker is not None:
        break
    time.sleep(0.02)
assert dec._worker is not None
print("ok")
"""


def test_under_eventlet_large_chunks_decrypt_on_workers_at_any_offset():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_without_a_hub_it_decrypts_inline_with_the_reference():
    key, iv = os.urandom(32), os.urandom(16)
    for offset in (0, 5, 65536 + 17):
        data = os.urandom(300_000)
        dec = bodycrypto.BodyDecrypter(key, iv, offset)
        assert isinstance(dec._ctx, ciphers.AesCtr)
        got = dec.feed(data[:200_000]) + dec.feed(data[200_000:])
        assert dec._worker is None and dec.finish() == b""
        assert got == ciphers.AesCtr(key, iv, offset).update(data)
