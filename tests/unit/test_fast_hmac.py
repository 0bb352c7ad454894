"""fast.hmac: Sha256Hmac (HMAC-SHA256 from two padded states kept per key)
differential-tested against its reference, derivation.hmac_sha256, and the
hmac module; MacCache bounded and reused; etag_mac the same either way."""

import hashlib
import hmac
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.crypto import derivation
from swiftcrypt.crypto.fast.hmac import MacCache, Sha256Hmac

# keys of every length around SHA-256's 64-byte block (HMAC hashes longer ones)
_keys = st.binary(max_size=130)
_messages = st.binary(max_size=200)


@settings(max_examples=300, deadline=None)
@given(key=_keys, messages=st.lists(_messages, min_size=1, max_size=4))
def test_sha256_hmac_equals_the_reference(key, messages):
    keyed = Sha256Hmac(key)
    for message in messages:  # one object serves any number of messages
        expected = derivation.hmac_sha256(key, message)
        assert keyed.mac(message) == expected == hmac.new(key, message, hashlib.sha256).digest()


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=32, max_size=32),
       etag=st.text(max_size=40) | st.binary(max_size=40))
def test_etag_mac_with_a_cached_hmac_equals_it_with_the_key(key, etag):
    assert derivation.etag_mac(MacCache().get(key), etag) == derivation.etag_mac(key, etag)


def test_cache_reuses_and_is_bounded():
    cache = MacCache(max_entries=2)
    keys = [bytes([i]) * 32 for i in range(3)]
    first = [cache.get(key) for key in keys]
    assert len(cache) == 2
    assert cache.get(keys[2]) is first[2] and cache.get(keys[0]) is not first[0]
    assert keys[0].hex() not in repr(cache) and repr(keys[0]) not in repr(cache)
    with pytest.raises(ValueError):
        MacCache(max_entries=0)


def test_a_shared_hmac_is_right_on_several_threads():
    key = bytes(range(32))
    keyed = MacCache().get(key)
    messages = [b"%d" % i * (i % 7 + 1) for i in range(300)] + [b"x" * 100000]
    wrong = []

    def work():
        for message in messages:
            if keyed.mac(message) != derivation.hmac_sha256(key, message):
                wrong.append(message)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
