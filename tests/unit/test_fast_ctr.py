"""fast.ctr: ShortCtr (CTR built on ECB) differential-tested against its
reference, cryptography's CTR mode; and the offsets of ciphers.AesCtr
against the same reference."""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

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
