"""The pure part of ``swiftcrypt rekey``: which root secrets an object's
raw headers use, whether it needs re-keying, what its rewrite keeps."""

import os

import pytest

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import keyids

from swiftcrypt.rekey import plan

from swiftcrypt.common import timestamps

PATH = "/AUTH_a/c/o"


def key_id(secret_id, path=PATH, version="2"):
    return keyids.make_key_id(path, secret_id, version)


def body_meta(secret_id):
    return cryptometa.dump({"cipher": "AES_CTR_256", "iv": os.urandom(16),
                            "body_key": {"key": os.urandom(32), "iv": os.urandom(16)},
                            "key_id": key_id(secret_id)})


def encrypted(secret_id=None, with_key_id=True):
    meta = {"cipher": "AES_CTR_256", "iv": os.urandom(16)}
    if with_key_id:
        meta["key_id"] = key_id(secret_id, "/AUTH_a/c")
    return cryptometa.append("c2VjcmV0", meta)


def raw(body=None, listing=None, metadata=None, length="10"):
    """Raw stored headers of an object whose parts use these secret ids
    (``False``: part absent)."""
    headers = {"Content-Length": length, "X-Timestamp": "1700000000.00000"}
    if body is not False:
        headers["X-Object-Sysmeta-Crypto-Body-Meta"] = body_meta(body)
        headers["X-Object-Sysmeta-Crypto-Etag"] = encrypted(with_key_id=False)
        headers["X-Object-Sysmeta-Crypto-Etag-Mac"] = "bWFj"
    if listing is not False:
        headers["X-Object-Sysmeta-Container-Update-Override-Etag"] = encrypted(listing)
    if metadata is not False:
        headers["X-Object-Transient-Sysmeta-Crypto-Meta"] = cryptometa.dump(
            {"cipher": "AES_CTR_256", "key_id": key_id(metadata)})
        headers["X-Object-Transient-Sysmeta-Crypto-Meta-Color"] = encrypted(with_key_id=False)
    return headers


def test_secret_ids_of_each_part():
    assert plan.secret_ids(raw("A", "B", "C")) == {
        plan.BODY: "A", plan.LISTING: "B", plan.METADATA: "C"}
    assert plan.secret_ids(raw(None, None, False)) == {plan.BODY: None, plan.LISTING: None}


def test_header_names_are_case_insensitive_and_pairs_work():
    pairs = [(n.lower(), v) for n, v in raw("A", "A", "A").items()]
    assert set(plan.secret_ids(pairs).values()) == {"A"}


def test_empty_object_plain_listing_etag_has_no_ids():
    headers = raw(False, False, False, length="0")
    headers["X-Object-Sysmeta-Container-Update-Override-Etag"] = \
        "d41d8cd98f00b204e9800998ecf8427e"
    assert plan.secret_ids(headers) == {}
    assert plan.classify(headers, "B") == (plan.CURRENT, {})


def test_empty_object_with_metadata_is_stale_until_rekeyed():
    headers = raw(False, False, "A", length="0")
    assert plan.classify(headers, "B") == (plan.STALE, {plan.METADATA: "A"})
    assert plan.classify(headers, "A")[0] == plan.CURRENT


def test_unencrypted_body_is_left_alone():
    assert plan.classify(raw(False, False, False), "B") == (plan.UNENCRYPTED, {})


@pytest.mark.parametrize("ids, active, state", [
    (("A", "A", "A"), "A", plan.CURRENT),
    (("A", "A", "A"), "B", plan.STALE),
    (("B", "B", "A"), "B", plan.STALE),   # metadata POSTed by a proxy not yet rotated
    (("B", "A", "B"), "B", plan.STALE),
    ((None, None, None), None, plan.CURRENT),
    ((None, None, None), "B", plan.STALE),
    (("B", None, "B"), None, plan.STALE),
])
def test_classify(ids, active, state):
    assert plan.classify(raw(*ids), active)[0] == state


def test_listing_etag_without_key_id_uses_the_body_key_id():
    headers = raw("A", False, False)
    headers["X-Object-Sysmeta-Container-Update-Override-Etag"] = encrypted(with_key_id=False)
    assert plan.secret_ids(headers) == {plan.BODY: "A", plan.LISTING: "A"}


@pytest.mark.parametrize("mangle", [
    lambda h: h.update({"X-Object-Sysmeta-Crypto-Body-Meta": "not%20json"}),
    lambda h: h.update({"X-Object-Sysmeta-Crypto-Body-Meta": cryptometa.dump(
        {"cipher": "AES_CTR_256", "iv": os.urandom(16)})}),
    lambda h: h.update({"X-Object-Sysmeta-Crypto-Body-Meta": cryptometa.dump(
        {"cipher": "AES_CTR_256", "key_id": {"v": "9", "path": PATH}})}),
    lambda h: h.pop("X-Object-Sysmeta-Crypto-Body-Meta"),
    lambda h: h.pop("X-Object-Transient-Sysmeta-Crypto-Meta"),
])
def test_malformed_crypto_meta_is_an_error(mangle):
    headers = raw("A", "A", "A")
    mangle(headers)
    with pytest.raises(plan.RekeyError):
        plan.secret_ids(headers)


def test_describe_ids():
    assert plan.describe_ids({plan.BODY: "A", plan.LISTING: "A"}) == "A"
    assert plan.describe_ids({plan.BODY: None}) == "(default)"
    assert plan.describe_ids({plan.BODY: "B", plan.METADATA: "A"}) == "body B, metadata A"


def test_rewrite_headers_keep_what_makes_the_object():
    got = [
        ("Content-Type", "text/plain"), ("Content-Length", "10"), ("Etag", '"abc"'),
        ("X-Object-Meta-Color", "blue"), ("X-Delete-At", "1900000000"),
        ("X-Object-Manifest", "segs/x"), ("Content-Disposition", "inline"),
        ("X-Object-Sysmeta-Symlink-Target", "c/t"),
        ("X-Object-Sysmeta-Container-Update-Override-Etag", "abc; symlink_target=c/t"),
        ("X-Object-Transient-Sysmeta-Foo", "bar"),
        ("X-Object-Sysmeta-Crypto-Etag-Mac", "mac"),
        ("X-Object-Transient-Sysmeta-Crypto-Meta-Color", "x; swift_meta=y"),
        ("X-Timestamp", "1700000000.00000"), ("X-Backend-Timestamp", "1700000000.00000"),
        ("Last-Modified", "whenever"), ("Accept-Ranges", "bytes"),
    ]
    out = plan.rewrite_headers(got, "1700000000.00000_0000000000000001")
    assert out == [
        ("Content-Type", "text/plain"), ("X-Object-Meta-Color", "blue"),
        ("X-Delete-At", "1900000000"), ("X-Object-Manifest", "segs/x"),
        ("Content-Disposition", "inline"), ("X-Object-Sysmeta-Symlink-Target", "c/t"),
        ("X-Object-Sysmeta-Container-Update-Override-Etag", "abc; symlink_target=c/t"),
        ("X-Object-Transient-Sysmeta-Foo", "bar"),
        ("Etag", "abc"), ("X-Timestamp", "1700000000.00000_0000000000000001"),
    ]


def test_rewrite_headers_keep_headers_of_a_custom_allowed_headers():
    # an object server with allowed_headers = ..., x-custom-thing, x-fancy
    # stores and returns them: a rewrite that drops them loses them
    got = [
        ("Content-Type", "text/plain"), ("Content-Length", "10"), ("Etag", "abc"),
        ("X-Custom-Thing", "kept"), ("X-Fancy", "too"),
        # what Swift's object server and proxy (and catch_errors) add
        ("X-Timestamp", "1700000000.00000"), ("X-Backend-Timestamp", "1700000000.00000"),
        ("X-Backend-Data-Timestamp", "1700000000.00000"),
        ("X-Backend-Durable-Timestamp", "1700000000.00000"), ("X-Backend-Fragments", "x"),
        ("X-Backend-Storage-Policy-Index", "1"),
        ("Last-Modified", "whenever"), ("Accept-Ranges", "bytes"), ("Date", "today"),
        ("X-Trans-Id", "tx1"), ("X-Openstack-Request-Id", "tx1"), ("Connection", "close"),
        ("Transfer-Encoding", "chunked"), ("Content-Range", "bytes 0-9/10"),
    ]
    out = plan.rewrite_headers(got, "1700000000.00000_0000000000000001")
    assert out == [
        ("Content-Type", "text/plain"), ("X-Custom-Thing", "kept"), ("X-Fancy", "too"),
        ("Etag", "abc"), ("X-Timestamp", "1700000000.00000_0000000000000001"),
    ]


def test_rewrite_of_slo_manifest_restores_swift_bytes():
    got = {"Content-Type": "application/json", "X-Static-Large-Object": "True",
           "X-Object-Sysmeta-Slo-Size": "3145728", "X-Object-Sysmeta-Slo-Etag": "e"}
    out = dict(plan.rewrite_headers(got, "1.00000_0000000000000001"))
    assert out["Content-Type"] == "application/json;swift_bytes=3145728"
    assert out["X-Static-Large-Object"] == "True"
    got["Content-Type"] = "application/json;swift_bytes=3145728"
    assert dict(plan.rewrite_headers(got, "1"))["Content-Type"] == got["Content-Type"]


def test_timestamps_offsets():
    assert timestamps.bumped("1700000000.12345") == "1700000000.12345_0000000000000001"
    assert timestamps.bumped("1700000000.12345_000000000000000f") == \
        "1700000000.12345_0000000000000010"
    assert timestamps.parse("1700000000.1") == ("1700000000.10000", 0)
    assert timestamps.internal(5, 0) == "0000000005.00000"
    older, bumped = "1700000000.12345", timestamps.bumped("1700000000.12345")
    later = "1700000000.12346"
    assert timestamps.order_key(older) < timestamps.order_key(bumped) \
        < timestamps.order_key(later)
    for bad in ("", "x", "-1", "nan", "1_", "1_xyz", "1_" + "1" * 17, None):
        with pytest.raises(ValueError):
            timestamps.parse(bad)


def _encrypted_raw(length, etag):
    meta = {"cipher": "AES_CTR_256", "iv": os.urandom(16),
            "body_key": {"key": os.urandom(32), "iv": os.urandom(16)},
            "key_id": keyids.make_key_id("/a/c/o", "A", "2")}
    return [("Content-Length", str(length)), ("Etag", etag),
            ("X-Object-Sysmeta-Crypto-Body-Meta", cryptometa.dump(meta))]


def test_a_short_body_whose_ciphertext_equals_its_plaintext_is_not_undecrypted():
    # 1 byte objects in 256 encrypt to themselves: same MD5, decrypted all the same
    raw = _encrypted_raw(1, "6f8f57715090da2632453988d9a1501b")
    got = [("Content-Length", "1"), ("Etag", "6f8f57715090da2632453988d9a1501b"),
           ("X-Backend-Crypto-Cipher", "AES_CTR_256")]
    assert plan.undecrypted(raw, got) is None


def test_an_undecrypted_get_is_caught_whatever_the_body_length():
    for length in (1, 7, 8, 5000):
        raw = _encrypted_raw(length, "e" * 32)
        # no decrypter: the stored headers come back as they are
        assert plan.undecrypted(raw, raw) == "body", length
        # one that strips the crypto meta but keeps the etag: long bodies only
        stripped = [(n, v) for n, v in raw if "Crypto" not in n]
        assert plan.undecrypted(raw, stripped) == ("body" if length >= 8 else None)
