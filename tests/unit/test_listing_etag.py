"""listing_etag: where and how the container-listing etag is stored."""

import pytest

from swiftcrypt.crypto import cryptometa, listing_etag
from swiftcrypt.crypto.fast.ctr import ShortCtr
from swiftcrypt.common.errors import CryptoError

KEY = bytes(range(32))
KEY_ID = {"path": "/AUTH_a/c/o", "v": "2"}


def test_encrypted_under_the_container_key_with_its_key_id():
    value = listing_etag.encrypt("a" * 32, True, KEY, KEY_ID)
    assert listing_etag.is_encrypted(value)
    meta = listing_etag.stored_meta(value)
    assert meta["key_id"] == KEY_ID and set(meta) == {"cipher", "iv", "key_id"}
    seen = []
    assert listing_etag.decrypt(value, lambda key_id: seen.append(key_id) or KEY) == "a" * 32
    assert seen == [KEY_ID]
    assert listing_etag.decrypt(value, lambda key_id: ShortCtr(KEY)) == "a" * 32


def test_an_empty_bodys_md5_stays_plain_unless_there_was_a_body():
    assert listing_etag.encrypt(listing_etag.EMPTY_MD5, False, KEY, KEY_ID) is None
    assert listing_etag.encrypt("", True, KEY, KEY_ID) is None
    assert listing_etag.is_encrypted(listing_etag.encrypt(listing_etag.EMPTY_MD5, True, KEY,
                                                          KEY_ID))
    assert not listing_etag.is_encrypted(listing_etag.EMPTY_MD5)
    assert not listing_etag.is_encrypted(None)


def test_a_bad_value_is_refused_before_a_key_is_asked_for():
    value = cryptometa.encrypt_value(b"x" * 32, KEY, key_id=KEY_ID)
    bad = value.replace("AES_CTR_256", "AES_CTR_128")

    def no_key(key_id):
        raise AssertionError("asked for a key")

    for broken in (bad, "abc; swift_meta=%7B", "abc; other=1"):
        with pytest.raises(CryptoError):
            listing_etag.decrypt(broken, no_key)


def test_one_cache_key_per_container_for_object_key_ids():
    key = listing_etag.container_key_cache_key
    assert key({"path": "/a/c/o1", "v": "2"}) == key({"path": "/a/c/o/2", "v": "2"}) \
        == key({"path": "/a/c", "v": "2"})
    assert key({"path": "/a/c/o", "v": "3"}) != key({"path": "/a/c/o", "v": "2"})
    assert key({"path": "/a/c/o", "v": "2", "secret_id": "s"}) != key({"path": "/a/c/o",
                                                                        "v": "2"})
    assert key({"path": "/a/c2/o", "v": "2"}) != key({"path": "/a/c/o", "v": "2"})
    # v1 (the path may be the object name alone) and other shapes: one each
    assert key({"path": "/a/c/o1", "v": "1"}) != key({"path": "/a/c/o2", "v": "1"})
    assert key({"path": "/a/c/o1", "v": "2", "x": 1}) != key({"path": "/a/c/o2", "v": "2",
                                                              "x": 1})
    assert key({"path": "/a", "v": "2"}) != key({"path": "/b", "v": "2"})
