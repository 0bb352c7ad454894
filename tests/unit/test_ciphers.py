"""AES-256-CTR core: published vectors, offsets, counter wrap, key wrapping."""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.fast.ctr import ShortCtr
from swiftcrypt.common.errors import CryptoError

# NIST SP 800-38A, appendix F.5.5 (CTR-AES256.Encrypt) and F.5.6
# (CTR-AES256.Decrypt).
NIST_KEY = bytes.fromhex(
    "603deb1015ca71be2b73aef0857d7781"
    "1f352c073b6108d72d9810a30914dff4"
)
NIST_COUNTER = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
NIST_PLAINTEXT = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
NIST_CIPHERTEXT = bytes.fromhex(
    "601ec313775789a5b7a7f504bbf3d228"
    "f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988d"
    "dfc9c58db67aada613c2dd08457941a6"
)

keys = st.binary(min_size=32, max_size=32)
ivs = st.binary(min_size=16, max_size=16)


def _aes_ecb_block(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _manual_ctr(key, iv, data):
    """Reference CTR built from AES-ECB and a 128-bit wrapping counter."""
    counter = int.from_bytes(iv, "big")
    out = bytearray()
    for start in range(0, len(data), 16):
        block = (counter % (1 << 128)).to_bytes(16, "big")
        stream = _aes_ecb_block(key, block)
        chunk = data[start:start + 16]
        out += bytes(a ^ b for a, b in zip(chunk, stream))
        counter += 1
    return bytes(out)


# --- published vectors -----------------------------------------------------

def test_nist_f55_encrypt():
    assert ciphers.encrypt(NIST_KEY, NIST_COUNTER, NIST_PLAINTEXT) == NIST_CIPHERTEXT
    enc = ciphers.encryptor(NIST_KEY, NIST_COUNTER)
    assert enc.update(NIST_PLAINTEXT) == NIST_CIPHERTEXT


def test_nist_f56_decrypt():
    assert ciphers.decrypt(NIST_KEY, NIST_COUNTER, NIST_CIPHERTEXT) == NIST_PLAINTEXT
    dec = ciphers.decryptor(NIST_KEY, NIST_COUNTER)
    assert dec.update(NIST_CIPHERTEXT) == NIST_PLAINTEXT


@pytest.mark.parametrize("block", range(4))
def test_nist_each_block_alone(block):
    sl = slice(block * 16, block * 16 + 16)
    enc = ciphers.encryptor(NIST_KEY, NIST_COUNTER, offset=block * 16)
    assert enc.update(NIST_PLAINTEXT[sl]) == NIST_CIPHERTEXT[sl]


@pytest.mark.parametrize("offset", range(64))
def test_nist_every_byte_offset(offset):
    dec = ciphers.decryptor(NIST_KEY, NIST_COUNTER, offset=offset)
    assert dec.update(NIST_CIPHERTEXT[offset:]) == NIST_PLAINTEXT[offset:]
    enc = ciphers.encryptor(NIST_KEY, NIST_COUNTER, offset=offset)
    assert enc.update(NIST_PLAINTEXT[offset:]) == NIST_CIPHERTEXT[offset:]


@pytest.mark.parametrize("offset", [0, 1, 15, 16, 17, 31, 47, 63])
def test_nist_short_slices_at_offset(offset):
    for length in (1, 5, 16, 64 - offset):
        end = min(offset + length, 64)
        dec = ciphers.decryptor(NIST_KEY, NIST_COUNTER, offset=offset)
        assert dec.update(NIST_CIPHERTEXT[offset:end]) == NIST_PLAINTEXT[offset:end]


def test_manual_reference_agrees_with_nist():
    # the reference used by the wrap tests is itself right
    assert _manual_ctr(NIST_KEY, NIST_COUNTER, NIST_PLAINTEXT) == NIST_CIPHERTEXT


# --- the counter ------------------------------------------------------------

def test_counter_block():
    iv = bytes(15) + b"\x01"
    assert ciphers.counter_block(iv, 0) == iv
    assert ciphers.counter_block(iv, 15) == iv
    assert ciphers.counter_block(iv, 16) == bytes(15) + b"\x02"
    # carries across bytes
    iv = bytes(14) + b"\x00\xff"
    assert ciphers.counter_block(iv, 16) == bytes(14) + b"\x01\x00"
    # and wraps over all 128 bits
    assert ciphers.counter_block(b"\xff" * 16, 16) == bytes(16)
    assert ciphers.counter_block(b"\xff" * 16, 33) == bytes(15) + b"\x01"


def test_counter_wraps_modulo_2_128():
    key = bytes(range(32))
    iv = b"\xff" * 16
    data = bytes(range(48))
    expected = (
        bytes(a ^ b for a, b in zip(data[:16], _aes_ecb_block(key, b"\xff" * 16)))
        + bytes(a ^ b for a, b in zip(data[16:32], _aes_ecb_block(key, bytes(16))))
        + bytes(a ^ b for a, b in zip(data[32:], _aes_ecb_block(key, bytes(15) + b"\x01")))
    )
    assert ciphers.encrypt(key, iv, data) == expected
    assert _manual_ctr(key, iv, data) == expected


@pytest.mark.parametrize("offset", [0, 1, 15, 16, 17, 20, 32, 40])
def test_counter_wrap_at_offset(offset):
    key = bytes(range(1, 33))
    iv = b"\xff" * 15 + b"\xfe"
    data = bytes(range(64))
    ciphertext = _manual_ctr(key, iv, data)
    dec = ciphers.decryptor(key, iv, offset)
    assert dec.update(ciphertext[offset:]) == data[offset:]


@settings(max_examples=50, deadline=None)
@given(key=keys, blocks_before_wrap=st.integers(0, 3), data=st.binary(max_size=100),
       offset=st.integers(0, 100))
def test_counter_wrap_property(key, blocks_before_wrap, data, offset):
    iv = ((1 << 128) - 1 - blocks_before_wrap).to_bytes(16, "big")
    offset = min(offset, len(data))
    ciphertext = _manual_ctr(key, iv, data)
    assert ciphers.encrypt(key, iv, data) == ciphertext
    assert ciphers.decryptor(key, iv, offset).update(ciphertext[offset:]) == data[offset:]


# --- properties ---------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(key=keys, iv=ivs, data=st.binary(max_size=300), bounds=st.tuples(
    st.integers(0, 300), st.integers(0, 300)))
def test_any_slice_at_any_offset_decrypts(key, iv, data, bounds):
    start, end = sorted(min(b, len(data)) for b in bounds)
    ciphertext = ciphers.encrypt(key, iv, data)
    assert len(ciphertext) == len(data)
    assert ciphers.decrypt(key, iv, ciphertext) == data
    assert ciphers.decryptor(key, iv, start).update(ciphertext[start:end]) == data[start:end]
    # encrypting from the offset gives the same ciphertext slice
    assert ciphers.encryptor(key, iv, start).update(data[start:end]) == ciphertext[start:end]


@settings(max_examples=100, deadline=None)
@given(key=keys, iv=ivs, data=st.binary(max_size=300),
       cuts=st.lists(st.integers(0, 300), max_size=8))
def test_chunked_update_equals_one_shot(key, iv, data, cuts):
    one_shot = ciphers.encrypt(key, iv, data)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    enc = ciphers.encryptor(key, iv)
    chunked = b"".join(enc.update(data[a:b]) for a, b in zip(points, points[1:]))
    assert chunked == one_shot


@settings(max_examples=100, deadline=None)
@given(key=keys, iv=ivs, data=st.binary(min_size=0, max_size=200), offset=st.integers(0, 200))
def test_update_into_equals_update(key, iv, data, offset):
    expected = ciphers.encryptor(key, iv, offset).update(data)
    buf = bytearray(len(data) + 15)
    written = ciphers.encryptor(key, iv, offset).update_into(data, buf)
    assert written == len(data)
    assert bytes(buf[:written]) == expected


def test_update_into_chunked():
    key, iv = bytes(32), bytes(16)
    data = bytes(range(256)) * 3
    expected = ciphers.encrypt(key, iv, data)
    enc = ciphers.encryptor(key, iv)
    out = bytearray()
    buf = bytearray(100 + 15)
    for start in range(0, len(data), 100):
        n = enc.update_into(data[start:start + 100], buf)
        out += buf[:n]
    assert bytes(out) == expected


def test_encrypt_is_not_identity_and_key_iv_matter():
    data = bytes(64)
    a = ciphers.encrypt(bytes(32), bytes(16), data)
    assert a != data
    assert ciphers.encrypt(b"\x01" + bytes(31), bytes(16), data) != a
    assert ciphers.encrypt(bytes(32), b"\x01" + bytes(15), data) != a


def test_random_key_and_iv():
    assert len(ciphers.random_key()) == ciphers.KEY_SIZE == 32
    assert len(ciphers.random_iv()) == ciphers.IV_SIZE == 16
    assert ciphers.random_key() != ciphers.random_key()
    assert ciphers.random_iv() != ciphers.random_iv()
    assert ciphers.CIPHER == "AES_CTR_256"


# --- key wrapping -------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(wrapping=keys, key=keys)
def test_wrap_unwrap_round_trip(wrapping, key):
    wrapped = ciphers.wrap_key(wrapping, key)
    assert set(wrapped) == {"key", "iv"}
    assert len(wrapped["iv"]) == 16
    assert len(wrapped["key"]) == 32
    # the stored form is AES-CTR of the key under the wrapping key
    assert wrapped["key"] == _manual_ctr(wrapping, wrapped["iv"], key)
    assert ciphers.unwrap_key(wrapping, wrapped) == key


def test_wrap_uses_fresh_iv():
    wrapping, key = bytes(32), bytes(range(32))
    a = ciphers.wrap_key(wrapping, key)
    b = ciphers.wrap_key(wrapping, key)
    assert a["iv"] != b["iv"]
    assert a["key"] != b["key"]
    assert a["key"] != key


def test_unwrap_with_wrong_key_gives_other_bytes():
    wrapped = ciphers.wrap_key(bytes(32), bytes(range(32)))
    assert ciphers.unwrap_key(b"\x01" * 32, wrapped) != bytes(range(32))


@pytest.mark.parametrize("wrapped", [
    {"key": bytes(31), "iv": bytes(16)},
    {"key": bytes(33), "iv": bytes(16)},
    {"key": b"", "iv": bytes(16)},
    {"key": "x" * 32, "iv": bytes(16)},
    {"iv": bytes(16)},
    {"key": bytes(32)},
    {"key": bytes(32), "iv": bytes(15)},
    {"key": bytes(32), "iv": None},
    {},
    None,
    "not a dict",
])
def test_unwrap_errors(wrapped):
    with pytest.raises(CryptoError):
        ciphers.unwrap_key(bytes(32), wrapped)


@pytest.mark.parametrize("key", [bytes(16), bytes(24), bytes(31), bytes(33), b"", "k" * 32, None])
def test_wrap_rejects_bad_key(key):
    with pytest.raises(CryptoError):
        ciphers.wrap_key(bytes(32), key)


def test_wrap_rejects_bad_wrapping_key():
    with pytest.raises(CryptoError):
        ciphers.wrap_key(bytes(16), bytes(32))


# --- argument checks ------------------------------------------------------------

@pytest.mark.parametrize("key", [bytes(16), bytes(24), bytes(31), bytes(33), b"", "k" * 32,
                                 bytearray(32), None])
def test_bad_key_length_rejected(key):
    with pytest.raises(CryptoError):
        ciphers.AesCtr(key, bytes(16))
    with pytest.raises(CryptoError):
        ciphers.encrypt(key, bytes(16), b"data")
    with pytest.raises(CryptoError):
        ciphers.check_key(key)


@pytest.mark.parametrize("iv", [bytes(8), bytes(15), bytes(17), bytes(32), b"", "i" * 16, None])
def test_bad_iv_length_rejected(iv):
    with pytest.raises(CryptoError):
        ciphers.AesCtr(bytes(32), iv)
    with pytest.raises(CryptoError):
        ciphers.decryptor(bytes(32), iv, 5)
    with pytest.raises(CryptoError):
        ciphers.check_iv(iv)


def test_good_key_and_iv_accepted():
    ciphers.check_key(bytes(32))
    ciphers.check_iv(bytes(16))


def test_negative_offset_rejected():
    with pytest.raises(ValueError):
        ciphers.decryptor(bytes(32), bytes(16), -1)


def test_crypto_error_is_swift_encryption_exception():
    from swift.common.exceptions import EncryptionException

    assert issubclass(CryptoError, EncryptionException)


def test_matches_swift_crypto_context():
    from swift.common.middleware.crypto.crypto_utils import Crypto

    swift_crypto = Crypto()
    key, iv = bytes(range(32)), b"\xff" * 15 + b"\xf0"
    data = bytes(range(256)) * 2
    ours = ciphers.encrypt(key, iv, data)
    theirs = swift_crypto.create_encryption_ctxt(key, iv).update(data)
    assert ours == theirs
    for offset in (0, 1, 16, 100, 255, 256, 300):
        ctx = swift_crypto.create_decryption_ctxt(key, iv, offset)
        assert ctx.update(ours[offset:]) == data[offset:]
        assert ciphers.decryptor(key, iv, offset).update(ours[offset:]) == data[offset:]


# --- ShortCtr: one ECB context per key -------------------------------------------

@settings(max_examples=300, deadline=None)
@given(key=keys, iv=ivs | st.sampled_from([b"\xff" * 16, b"\xff" * 15 + b"\xfe",
                                           b"\xff" * 8 + bytes(8)]),
       data=st.binary(max_size=100))
def test_short_ctr_equals_a_fresh_stream(key, iv, data):
    # every length: the one- and two-block cases have their own code
    assert ShortCtr(key).crypt(iv, data) == ciphers.AesCtr(key, iv).update(data)
    assert ciphers.encrypt(ShortCtr(key), iv, data) == _manual_ctr(key, iv, data)


def test_short_ctr_reused_across_ivs():
    key = bytes(range(32))
    short = ShortCtr(key)
    for iv in (bytes(16), b"\xff" * 16, b"\x01" * 16, bytes(16)):
        for n in (1, 16, 17, 32, 33, 64):
            data = bytes(range(n))
            assert short.crypt(iv, data) == ciphers.AesCtr(key, iv).update(data)


def test_short_ctr_checks_iv():
    with pytest.raises(CryptoError):
        ShortCtr(bytes(32)).crypt(bytes(15), b"x")


@pytest.mark.parametrize("offset", [0, 1, 15, 16, 17, 4096])
def test_offset_zero_and_others_agree_with_counter_block(offset):
    key, iv = bytes(range(32)), b"\xff" * 16
    data = bytes(range(256)) * 20
    whole = ciphers.AesCtr(key, iv).update(data)
    assert ciphers.AesCtr(key, iv, offset).update(data[offset:]) == whole[offset:]
