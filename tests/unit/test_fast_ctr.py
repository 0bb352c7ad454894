"""fast.ctr: ShortCtr (CTR built on ECB) differential-tested against its
reference, cryptography's CTR mode; and the offsets of ciphers.AesCtr
against the same reference."""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.fast.ctr import ShortCtr

_keys = st.binary(min_size=32, max_size=32)
# IVs anywhere, and near the top where the 128-bit counter wraps
_ivs = st.binary(min_size=16, max_size=16) | st.integers(
    min_value=(1 << 128) - 8, max_value=(1 << 128) - 1).map(lambda n: n.to_bytes(16, "big"))
# lengths across block boundaries: 0, 1, 15-17, 31-33 ... up to five blocks
_data = st.binary(max_size=5 * 16 + 1)


def _reference(key, iv, data):
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)


@settings(max_examples=300, deadline=None)
@given(key=_keys, iv=_ivs, data=_data)
def test_short_ctr_equals_cryptographys_ctr(key, iv, data):
    short = ShortCtr(key)
    assert short.crypt(iv, data) == _reference(key, iv, data)
    # the same ShortCtr serves any number of values, and works as a key
    assert short.crypt(iv, data) == ciphers.encrypt(short, iv, data) == ciphers.encrypt(
        key, iv, data)


@settings(max_examples=200, deadline=None)
@given(key=_keys, iv=_ivs, offset=st.integers(min_value=0, max_value=200), data=_data)
def test_a_stream_at_any_offset_equals_the_reference_from_zero(key, iv, offset, data):
    keystream = _reference(key, iv, bytes(offset + len(data)))[offset:]
    expected = bytes(a ^ b for a, b in zip(data, keystream))
    assert ciphers.AesCtr(key, iv, offset).update(data) == expected


# --- ShortCtrCache: one ShortCtr per key, reused across requests -----------------------

@settings(max_examples=100, deadline=None)
@given(key=_keys, iv=_ivs, data=_data)
def test_cached_short_ctr_equals_the_reference_and_is_reused(key, iv, data):
    from swiftcrypt.crypto.fast.ctr import ShortCtrCache

    cache = ShortCtrCache()
    short = cache.get(key)
    assert cache.get(key) is short
    assert short.crypt(iv, data) == _reference(key, iv, data)
    assert ciphers.encrypt(short, iv, data) == ciphers.encrypt(key, iv, data)


def test_cache_is_bounded_first_cached_out_first():
    from swiftcrypt.crypto.fast.ctr import ShortCtrCache

    cache = ShortCtrCache(max_entries=3)
    keys = [bytes([i]) * 32 for i in range(5)]
    first = [cache.get(key) for key in keys]
    assert len(cache) == 3
    assert [cache.get(key) is got for key, got in zip(keys[2:], first[2:])] == [True] * 3
    assert cache.get(keys[0]) is not first[0]  # evicted, made again
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        ShortCtrCache(max_entries=0)


def test_cache_checks_keys_and_never_shows_them():
    from swiftcrypt.crypto.fast.ctr import ShortCtrCache

    cache = ShortCtrCache()
    for bad in (b"short", "k" * 32, None, bytearray(32)):
        with pytest.raises(CryptoError):
            cache.get(bad)
    assert len(cache) == 0
    key = b"\x01\xfe" * 16
    cache.get(key)
    assert key.hex() not in repr(cache) and repr(key) not in repr(cache)


def test_a_cached_context_busy_on_another_thread_is_not_shared():
    """A cipher context updated by two OS threads at once raises (Already
    borrowed): a cached ShortCtr in use takes a context of its own."""
    import threading

    from swiftcrypt.crypto.fast.ctr import ShortCtrCache

    key, iv = bytes(range(32)), bytes(16)
    short = ShortCtrCache().get(key)
    data = bytes(range(256)) * 2048  # 512 KiB: cryptography lets the GIL go
    expected = _reference(key, iv, data)
    errors, wrong = [], []

    def work():
        try:
            for _ in range(6):
                if short.crypt(iv, data) != expected:
                    wrong.append(1)
        except Exception as err:  # "Already borrowed" without the fallback
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and wrong == []
    # and deterministically: refused as a busy context is, it still answers right
    class Busy:
        def update(self, data):
            raise RuntimeError("Already borrowed")

    short._ecb = Busy()
    assert short.crypt(iv, data[:40]) == expected[:40]
