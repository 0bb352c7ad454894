"""Key derivation, and the keys it gives compared with Swift's own keymaster.

Swift's keymaster and ours are each put in front of a tiny WSGI app that
captures the keys callback they install; the keys, key ids and the keys
obtained by passing one side's key ids to the other side must agree.
"""

import base64
import hashlib
import hmac
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swift.common.middleware.crypto import keymaster as swift_keymaster
from swift.common.middleware.crypto.encrypter import _hmac_etag as swift_hmac_etag

from swiftcrypt.crypto import derivation

from swiftcrypt.keymasters import config_keymaster
from swiftcrypt.common.swiftpath import str_to_wsgi
from tests.support.keymasters import CALLBACK, passed_on

SECRET_A = bytes(range(32))
SECRET_B = bytes(range(100, 148))  # longer than 32 bytes is allowed
SECRET_C = b"\xa5" * 40


def b64(secret):
    return base64.b64encode(secret).decode("ascii")


# --- plain derivation ---------------------------------------------------------------

def test_derive_key_is_hmac_sha256_of_utf8_path():
    path = "/AUTH_test/cont/obj"
    expected = hmac.new(SECRET_A, path.encode("utf-8"), hashlib.sha256).digest()
    assert derivation.derive_key(SECRET_A, path) == expected
    assert len(expected) == 32


def test_derive_key_known_value():
    # independent of hmac.new: HMAC-SHA256 by its definition (RFC 2104)
    key = SECRET_A + bytes(32)  # padded to the 64-byte block size
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    path = "/a/c/\u00e9"
    inner = hashlib.sha256(ipad + path.encode("utf-8")).digest()
    assert derivation.derive_key(SECRET_A, path) == hashlib.sha256(opad + inner).digest()


def test_derive_key_non_ascii_uses_utf8_not_latin1():
    path = "/a/c/caf\u00e9"
    assert derivation.derive_key(SECRET_A, path) == hmac.new(
        SECRET_A, b"/a/c/caf\xc3\xa9", hashlib.sha256).digest()
    # the WSGI form of the same path is a different path, so a different key
    assert derivation.derive_key(SECRET_A, str_to_wsgi(path)) != \
        derivation.derive_key(SECRET_A, path)


def test_derive_key_depends_on_secret_and_path():
    keys = {
        derivation.derive_key(s, p)
        for s in (SECRET_A, SECRET_B)
        for p in ("/a/c", "/a/c/o", "/a/c2/o")
    }
    assert len(keys) == 6


@settings(max_examples=100, deadline=None)
@given(secret=st.binary(min_size=32, max_size=64), path=st.text(max_size=50))
def test_derive_key_property(secret, path):
    assert derivation.derive_key(secret, path) == hmac.new(
        secret, path.encode("utf-8"), hashlib.sha256).digest()


def test_etag_mac_known_computation():
    key = bytes(32)
    etag = "d41d8cd98f00b204e9800998ecf8427e"
    expected = base64.b64encode(
        hmac.new(key, etag.encode("ascii"), hashlib.sha256).digest()).decode("ascii")
    assert derivation.etag_mac(key, etag) == expected
    assert derivation.etag_mac(key, etag.encode("ascii")) == expected
    assert isinstance(expected, str) and len(base64.b64decode(expected)) == 32
    assert derivation.etag_mac(b"\x01" * 32, etag) != expected


@pytest.mark.parametrize("etag", [
    "d41d8cd98f00b204e9800998ecf8427e",
    b"d41d8cd98f00b204e9800998ecf8427e",
    "W/\"weak\"",
    "caf\u00c3\u00a9",  # WSGI string
    b"\xff\x00",
])
def test_etag_mac_matches_swift(etag):
    key = bytes(range(32))
    assert derivation.etag_mac(key, etag) == swift_hmac_etag(key, etag)


def test_etag_mac_real_text_falls_back_to_utf8():
    key = bytes(32)
    expected = base64.b64encode(
        hmac.new(key, "\u2603".encode("utf-8"), hashlib.sha256).digest()).decode()
    assert derivation.etag_mac(key, "\u2603") == expected


# --- cross-check with Swift's keymaster -----------------------------------------------

def swift_fetch(conf, path_info):
    return passed_on(swift_keymaster.filter_factory, conf, path_info).get(CALLBACK)


def our_fetch(conf, path_info):
    return passed_on(config_keymaster.filter_factory, conf, path_info).get(CALLBACK)


def wsgi_path(*parts):
    return "/v1/" + "/".join(str_to_wsgi(p) for p in parts)


NAMES = [
    ("AUTH_test", "cont", "obj"),
    ("AUTH_test", "cont", "dir/sub/obj"),
    ("AUTH_test", "cont", "/leading-slash"),
    ("AUTH_test", "cont", "//double/leading"),
    ("AUTH_t\u00e9st", "c\u00f6nt\u2603", "\u00f8bj\U0001f600"),
    ("AUTH_test", "\u30b3\u30f3\u30c6\u30ca", "/\u00e9/leading-slash"),
    ("AUTH_\u00e9", "c", "obj/trailing/"),
]

SECRET_CONFS = [
    {"encryption_root_secret": b64(SECRET_A)},
    {"encryption_root_secret": b64(SECRET_A),
     "encryption_root_secret_22": b64(SECRET_B),
     "active_root_secret_id": "22"},
    {"encryption_root_secret_1": b64(SECRET_A),
     "encryption_root_secret_\u00e9": b64(SECRET_B),
     "encryption_root_secret_x": b64(SECRET_C),
     "active_root_secret_id": "x"},
    {"encryption_root_secret": b64(SECRET_C),
     "encryption_root_secret_22": b64(SECRET_B)},
]


def _by_secret(ids):
    return sorted(ids, key=lambda kid: kid.get("secret_id") or "")


def _secrets(conf):
    out = {}
    for option, value in conf.items():
        if option == "encryption_root_secret":
            out[None] = base64.b64decode(value)
        elif option.startswith("encryption_root_secret_"):
            out[option[len("encryption_root_secret_"):]] = base64.b64decode(value)
    return out


def expected_keys(conf, names, secret_id, version, level="object"):
    """The keys an item's key id stands for, computed from first principles."""
    secret = _secrets(conf)[secret_id]
    account, container, obj = names
    keys = {"container": derivation.derive_key(secret, "/%s/%s" % (account, container))}
    if level == "object":
        if version == "1" and obj.startswith("/"):
            opath = obj
        else:
            opath = "/%s/%s/%s" % (account, container, obj)
        keys["object"] = derivation.derive_key(secret, opath)
    return keys


def swift_reads(key_id, level):
    """False where Swift 2.38's keymaster cannot read a key id it wrote.

    With a WSGI-string (non-ASCII) path, a v1 id is compared against the
    real-text account (and then taken as a bare object name), and a
    container-level request fails on the missing object part. Our
    keymaster reads those; for them only our side is checked.
    """
    stored = key_id["path"]
    wsgi_non_ascii = key_id["v"] in ("1", "2") and any(ord(ch) > 127 for ch in stored)
    return not (wsgi_non_ascii and (key_id["v"] == "1" or level == "container"))


def _check_keys(got, expected):
    for name in ("container", "object"):
        assert (name in got) == (name in expected), name
        if name in expected:
            assert got[name] == expected[name], name


def _same_keys(a, b):
    assert a.keys() == b.keys()
    _check_keys(a, b)
    assert a["id"] == b["id"]
    assert _by_secret(a["all_ids"]) == _by_secret(b["all_ids"])


@pytest.mark.parametrize("version", ["1", "2", "3"])
@pytest.mark.parametrize("secrets", range(len(SECRET_CONFS)))
@pytest.mark.parametrize("names", NAMES)
def test_object_keys_same_as_swift(version, secrets, names):
    conf = dict(SECRET_CONFS[secrets], meta_version_to_write=version)
    path = wsgi_path(*names)
    ours = our_fetch(conf, path)
    theirs = swift_fetch(conf, path)
    mine, swifts = ours(), theirs()
    _same_keys(mine, swifts)
    active = conf.get("active_root_secret_id")
    assert set(mine) == {"container", "object", "id", "all_ids"}
    _check_keys(mine, expected_keys(conf, names, active, version))
    assert mine["id"]["v"] == version
    assert mine["id"].get("secret_id") == active
    assert len(mine["all_ids"]) == len(_secrets(conf))

    # key ids are interchangeable: every id (active and others) one side
    # hands out gives the same keys from the other side
    for key_id in itertools.chain(mine["all_ids"], swifts["all_ids"]):
        want = expected_keys(conf, names, key_id.get("secret_id"), version)
        got = ours(key_id)
        _check_keys(got, want)
        assert got["id"] == key_id
        if swift_reads(key_id, "object"):
            _same_keys(got, theirs(key_id))


@pytest.mark.parametrize("version", ["1", "2", "3"])
@pytest.mark.parametrize("names", NAMES)
def test_container_keys_same_as_swift(version, names):
    conf = dict(SECRET_CONFS[1], meta_version_to_write=version)
    path = wsgi_path(*names[:2])
    ours, theirs = our_fetch(conf, path), swift_fetch(conf, path)
    mine, swifts = ours(), theirs()
    _same_keys(mine, swifts)
    assert set(mine) == {"container", "id", "all_ids"}
    _check_keys(mine, expected_keys(conf, names, "22", version, "container"))
    for key_id in itertools.chain(mine["all_ids"], swifts["all_ids"]):
        got = ours(key_id)
        _check_keys(got, expected_keys(
            conf, names, key_id.get("secret_id"), version, "container"))
        if swift_reads(key_id, "container"):
            _same_keys(got, theirs(key_id))


@pytest.mark.parametrize("writer", ["1", "2", "3"])
@pytest.mark.parametrize("reader", ["1", "2", "3"])
@pytest.mark.parametrize("names", NAMES)
def test_ids_written_by_one_version_read_by_another(writer, reader, names):
    base = SECRET_CONFS[2]
    path = wsgi_path(*names)
    written_by_swift = swift_fetch(dict(base, meta_version_to_write=writer), path)()
    written_by_us = our_fetch(dict(base, meta_version_to_write=writer), path)()
    ours = our_fetch(dict(base, meta_version_to_write=reader), path)
    theirs = swift_fetch(dict(base, meta_version_to_write=reader), path)
    for written in (written_by_swift, written_by_us):
        # the keys the writer used come back for its id
        _check_keys(ours(written["id"]), written)
        for key_id in written["all_ids"]:
            got = ours(key_id)
            _check_keys(got, expected_keys(base, names, key_id.get("secret_id"), writer))
            if swift_reads(key_id, "object"):
                _same_keys(got, theirs(key_id))


@pytest.mark.parametrize("names", NAMES)
@pytest.mark.parametrize("version,as_wsgi", [("1", False), ("1", True), ("2", False),
                                             ("2", True), ("3", False)])
def test_hand_made_key_ids_same_as_swift(names, version, as_wsgi):
    """Key ids as py2 (real text) and py3 (WSGI string) proxies wrote them."""
    account, container, obj = names
    conf = SECRET_CONFS[1]
    if version == "1" and obj.startswith("/"):
        opath = obj
    else:
        opath = "/%s/%s/%s" % (account, container, obj)
    stored = str_to_wsgi(opath) if as_wsgi else opath
    key_id = {"v": version, "path": stored, "secret_id": "22"}
    path = wsgi_path(*names)
    mine = our_fetch(conf, path)(key_id)
    assert mine["object"] == derivation.derive_key(SECRET_B, opath)
    assert mine["container"] == derivation.derive_key(
        SECRET_B, "/%s/%s" % (account, container))
    if swift_reads(key_id, "object"):
        _same_keys(mine, swift_fetch(conf, path)(key_id))


def test_object_key_id_at_container_level_same_as_swift():
    conf = SECRET_CONFS[1]
    names = ("a", "cé", "o")
    obj_ids = swift_fetch(conf, wsgi_path(*names))()["all_ids"]
    cont_path = wsgi_path(*names[:2])
    for key_id in obj_ids:
        mine = our_fetch(conf, cont_path)(key_id)
        _check_keys(mine, expected_keys(conf, names, key_id.get("secret_id"), "2",
                                        "container"))
        assert "object" not in mine
    ascii_ids = swift_fetch(conf, "/v1/a/c/o")()["all_ids"]
    for key_id in ascii_ids:
        _same_keys(our_fetch(conf, "/v1/a/c")(key_id), swift_fetch(conf, "/v1/a/c")(key_id))


def test_account_request_gets_only_the_account_key_where_swift_gives_none():
    # ours adds the account key (encrypted account metadata); like Swift's,
    # it gives no container or object key on an account request
    conf = SECRET_CONFS[0]
    assert swift_fetch(conf, "/v1/AUTH_test")() == {}
    ours = our_fetch(conf, "/v1/AUTH_test")()
    assert set(ours) == {"account", "id", "all_ids"}
    assert ours["id"]["path"] == "/AUTH_test"


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), message=st.binary(max_size=300))
def test_hmac_sha256_equals_the_hmac_module(key, message):
    # the C fast path must be HMAC-SHA256 for every key length (keys over
    # the 64-byte block size are hashed first)
    expected = hmac.new(key, message, hashlib.sha256).digest()
    assert derivation.hmac_sha256(key, message) == expected
    assert derivation.etag_mac(key, message) == base64.b64encode(expected).decode("ascii")


# -- one derivation for both keymasters ---------------------------------------

def test_request_keys_derives_container_object_and_ids():
    from swiftcrypt.crypto import keyids
    root = b"r" * 32
    keys = derivation.request_keys(root, "b", "2", "/a/c", "/a/c/o", ["a", "b", None])
    assert keys["container"] == derivation.derive_key(root, "/a/c")
    assert keys["object"] == derivation.derive_key(root, "/a/c/o")
    assert keys["id"] == keyids.make_key_id("/a/c/o", "b", "2")
    # config_keymaster's order: every configured secret, the active first
    assert [k.get("secret_id") for k in keys["all_ids"]] == ["a", "b", None]
    assert keys["all_ids"][1] == keys["id"] and keys["all_ids"][1] is not keys["id"]


def test_request_keys_for_a_container_and_for_an_account_request():
    root = b"r" * 32
    keys = derivation.request_keys(root, None, "3", "/a/c", None, [None])
    assert set(keys) == {"container", "id", "all_ids"}
    assert keys["id"]["path"] == "/a/c" and "secret_id" not in keys["id"]
    assert derivation.request_keys(root, None, "3", None, None, [None]) == {}


def test_request_keys_in_account_keymaster_order():
    # account_keymaster's order: the secret used first, then the account's others
    keys = derivation.request_keys(b"r" * 32, "s2", "2", "/a/c", "/a/c/o", ["s2", "s1"])
    assert [k["secret_id"] for k in keys["all_ids"]] == ["s2", "s1"]


def test_account_keys():
    root = b"r" * 32
    keys = derivation.account_keys(root, "/a", "y", "3", ["x", "y"])
    assert keys["account"] == derivation.derive_key(root, "/a")
    assert keys["id"] == {"v": "3", "path": "/a", "secret_id": "y"}
    assert [k["secret_id"] for k in keys["all_ids"]] == ["x", "y"]
