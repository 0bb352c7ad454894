"""fast.evp: LibcryptoCtr (AES-256-CTR through the system libcrypto)
differential-tested against its reference, ciphers.AesCtr, at any offset
and from several threads; and its calls really release the GIL."""

import os
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.fast import evp

# the machine this runs on has libcrypto: its absence must fail, not skip
assert evp.BACKEND == "libcrypto", "libcrypto did not load (see the debug log)"

_keys = st.binary(min_size=32, max_size=32)
# IVs anywhere, and near the top where the 128-bit counter wraps
_ivs = st.binary(min_size=16, max_size=16) | st.integers(
    min_value=(1 << 128) - 8, max_value=(1 << 128) - 1).map(lambda n: n.to_bytes(16, "big"))
_offsets = st.integers(min_value=0, max_value=300) | st.integers(min_value=0, max_value=1 << 40)
# lengths across block boundaries, cut into chunks of any size
_chunks = st.lists(st.binary(max_size=5 * 16 + 1), max_size=6)


@settings(max_examples=300, deadline=None)
@given(key=_keys, iv=_ivs, offset=_offsets, chunks=_chunks)
def test_libcrypto_ctr_equals_the_reference(key, iv, offset, chunks):
    fast = evp.LibcryptoCtr(key, iv, offset)
    ref = ciphers.AesCtr(key, iv, offset)
    for chunk in chunks:
        assert fast.update(chunk) == ref.update(chunk)


@settings(max_examples=50, deadline=None)
@given(key=_keys, iv=_ivs, offset=_offsets, size=st.integers(0, 200_000))
def test_large_chunks_and_update_into(key, iv, offset, size):
    data = os.urandom(size)
    expected = ciphers.AesCtr(key, iv, offset).update(data)
    assert evp.LibcryptoCtr(key, iv, offset).update(memoryview(data)) == expected
    out = bytearray(size + 3)
    assert evp.LibcryptoCtr(key, iv, offset).update_into(data, out) == size
    assert bytes(out[:size]) == expected and out[size:] == b"\0\0\0"


def test_the_counter_wraps_at_2_to_the_128():
    key = os.urandom(32)
    iv = ((1 << 128) - 2).to_bytes(16, "big")
    data = os.urandom(5 * 16 + 3)
    assert evp.LibcryptoCtr(key, iv).update(data) == ciphers.AesCtr(key, iv).update(data)
    # block 2 of this stream is counter 0
    assert evp.LibcryptoCtr(key, iv, 32).update(data[:16]) == \
        ciphers.AesCtr(key, bytes(16)).update(data[:16])


def test_decryptor_is_the_chosen_backend():
    ctx = evp.decryptor(os.urandom(32), os.urandom(16), 7)
    assert isinstance(ctx, evp.LibcryptoCtr)


def test_bad_keys_ivs_and_offsets_are_refused():
    with pytest.raises(CryptoError):
        evp.LibcryptoCtr(b"short", bytes(16))
    with pytest.raises(CryptoError):
        evp.LibcryptoCtr(bytes(32), b"short")
    with pytest.raises(ValueError):
        evp.LibcryptoCtr(bytes(32), bytes(16), -1)
    with pytest.raises(ValueError):
        evp.LibcryptoCtr(bytes(32), bytes(16)).update_into(b"abc", bytearray(2))


def test_concurrent_streams_on_several_threads():
    results = {}

    def run(n):
        key, iv = os.urandom(32), os.urandom(16)
        offset = n * 1000 + n
        data = os.urandom(300_000 + n)
        fast = evp.LibcryptoCtr(key, iv, offset)
        got = b"".join(fast.update(data[i:i + 65536]) for i in range(0, len(data), 65536))
        results[n] = got == ciphers.AesCtr(key, iv, offset).update(data)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: True for n in range(8)}


def test_a_long_call_releases_the_gil():
    # Another Python thread counts while this one is inside one long
    # libcrypto call. The switch interval is made so long that a call
    # holding the GIL would never be interrupted: then the count could not
    # move between the two reads around the call. Counts, not times.
    data = bytes(64 << 20)
    ctx = evp.LibcryptoCtr(os.urandom(32), os.urandom(16))
    started, stop = threading.Event(), threading.Event()
    count = [0]

    def counter():
        started.set()
        while not stop.is_set():
            count[0] += 1
            if count[0] % 10000 == 0:
                time.sleep(0)  # lets the caller take the GIL back

    interval = sys.getswitchinterval()
    sys.setswitchinterval(10)
    thread = threading.Thread(target=counter)
    try:
        thread.start()
        started.wait()
        before = count[0]
        ctx.update(data)
        during = count[0] - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert during > 0
