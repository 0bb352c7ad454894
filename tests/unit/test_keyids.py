"""Key ids: making them, and resolving stored ones back to key paths."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.crypto import keyids
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.swiftpath import str_to_wsgi

ACCT, CONT, OBJ = "AUTH_t\u00e9st", "c\u2603", "o\U0001f600/x"
OPATH = "/%s/%s/%s" % (ACCT, CONT, OBJ)
CPATH = "/%s/%s" % (ACCT, CONT)


# --- make_key_id ------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2"])
def test_make_v1_v2_store_wsgi_string(version):
    key_id = keyids.make_key_id(OPATH, "s1", version)
    assert key_id == {"v": version, "path": OPATH.encode("utf-8").decode("latin-1"),
                      "secret_id": "s1"}
    assert key_id["path"] != OPATH


def test_make_v3_stores_real_text():
    assert keyids.make_key_id(OPATH, "s1", "3") == {"v": "3", "path": OPATH, "secret_id": "s1"}


@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_make_without_secret_id(version):
    key_id = keyids.make_key_id("/a/c/o", None, version)
    assert key_id == {"v": version, "path": "/a/c/o"}
    assert "secret_id" not in key_id


def test_paths():
    assert keyids.container_path("a", "c") == "/a/c"
    assert keyids.object_path("a", "c", "o", "2") == "/a/c/o"
    assert keyids.object_path("a", "c", "/o", "2") == "/a/c//o"
    assert keyids.object_path("a", "c", "/o", "3") == "/a/c//o"
    # the v1 quirk: a leading slash made the object name the whole path
    assert keyids.object_path("a", "c", "/o", "1") == "/o"
    assert keyids.object_path("a", "c", "o/", "1") == "/a/c/o/"


# --- resolve_key_paths -------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_resolve_own_ids(version):
    for secret_id in (None, "s1"):
        key_id = keyids.make_key_id(OPATH, secret_id, version)
        assert keyids.resolve_key_paths(key_id, ACCT, CONT, OBJ) == (
            secret_id, version, CPATH, OPATH)
        # a container request needs only the container path
        cid = keyids.make_key_id(CPATH, secret_id, version)
        assert keyids.resolve_key_paths(cid, ACCT, CONT, None) == (
            secret_id, version, CPATH, None)


@pytest.mark.parametrize("version", ["1", "2"])
def test_resolve_py2_style_real_text(version):
    """Proxies on py2 stored v1/v2 paths as real text."""
    key_id = {"v": version, "path": OPATH}
    assert keyids.resolve_key_paths(key_id, ACCT, CONT, OBJ) == (None, version, CPATH, OPATH)
    cid = {"v": version, "path": CPATH}
    assert keyids.resolve_key_paths(cid, ACCT, CONT, None) == (None, version, CPATH, None)


@pytest.mark.parametrize("version", ["1", "2"])
def test_resolve_py3_style_wsgi_string(version):
    key_id = {"v": version, "path": str_to_wsgi(OPATH), "secret_id": "x"}
    assert keyids.resolve_key_paths(key_id, ACCT, CONT, OBJ) == ("x", version, CPATH, OPATH)
    cid = {"v": version, "path": str_to_wsgi(CPATH), "secret_id": "x"}
    assert keyids.resolve_key_paths(cid, ACCT, CONT, None) == ("x", version, CPATH, None)


def test_resolve_v3_is_never_reinterpreted():
    wsgi = str_to_wsgi(OPATH)
    # a v3 path that happens to look like a WSGI string is taken literally
    acct, cont, obj = wsgi[1:].split("/", 2)
    assert keyids.resolve_key_paths({"v": "3", "path": wsgi}, acct, cont, obj) == (
        None, "3", "/%s/%s" % (acct, cont), wsgi)


@pytest.mark.parametrize("version", ["1", "2"])
def test_resolve_ambiguous_path_prefers_request_match(version):
    """Real text that also decodes as a WSGI string: pick what matches."""
    real = "\u00c3\u00a9"  # as real text; as a WSGI string it reads "\u00e9"
    key_id = {"v": version, "path": "/a/c/" + real}
    assert keyids.resolve_key_paths(key_id, "a", "c", real)[3] == "/a/c/" + real
    assert keyids.resolve_key_paths(key_id, "a", "c", "\u00e9")[3] == "/a/c/\u00e9"


def test_resolve_v1_leading_slash_quirk():
    key_id = keyids.make_key_id(keyids.object_path("a", "c", "/o", "1"), None, "1")
    assert key_id == {"v": "1", "path": "/o"}
    assert keyids.resolve_key_paths(key_id, "a", "c", "/o") == (None, "1", "/a/c", "/o")
    # non-ASCII, as a WSGI string and as real text
    obj = "/\u00e9/x"
    for stored in (str_to_wsgi(obj), obj):
        assert keyids.resolve_key_paths({"v": "1", "path": stored}, ACCT, CONT, obj) == (
            None, "1", CPATH, obj)


def test_resolve_v1_with_non_ascii_account_wsgi():
    key_id = keyids.make_key_id(OPATH, None, "1")
    assert key_id["path"].startswith("/" + str_to_wsgi(ACCT) + "/")
    assert keyids.resolve_key_paths(key_id, ACCT, CONT, OBJ) == (None, "1", CPATH, OPATH)


def test_resolve_v2_leading_slash_is_full_path():
    path = keyids.object_path("a", "c", "/o", "2")
    assert keyids.resolve_key_paths({"v": "2", "path": path}, "a", "c", "/o") == (
        None, "2", "/a/c", "/a/c//o")


def test_resolve_object_id_on_container_request():
    key_id = keyids.make_key_id(OPATH, "s", "2")
    assert keyids.resolve_key_paths(key_id, ACCT, CONT, None) == ("s", "2", CPATH, None)


def test_resolve_account_request_needs_no_paths():
    key_id = keyids.make_key_id(OPATH, None, "3")
    assert keyids.resolve_key_paths(key_id, ACCT, None, None) == (None, "3", None, None)


def test_resolve_mismatch_trusts_stored_path(caplog):
    key_id = {"v": "2", "path": "/a/other/obj"}
    with caplog.at_level("INFO", logger="swiftcrypt.keyids"):
        result = keyids.resolve_key_paths(key_id, "a", "c", "o")
    assert result == (None, "2", "/a/other", "/a/other/obj")
    assert "does not match" in caplog.text


def test_resolve_v1_from_another_account_is_bare_name():
    # v1 could not tell a full path from a name with a leading slash
    key_id = {"v": "1", "path": "/b/c2/o"}
    assert keyids.resolve_key_paths(key_id, "a", "c", "o") == (None, "1", "/a/c", "/b/c2/o")


@pytest.mark.parametrize("version", ["0", "4", "", None, 2, "v2"])
def test_unknown_version(version):
    key_id = {"v": version, "path": "/a/c/o"}
    with pytest.raises(CryptoError):
        keyids.resolve_key_paths(key_id, "a", "c", "o")
    with pytest.raises(CryptoError):
        keyids.parse_key_id(key_id)


def test_missing_version():
    with pytest.raises(CryptoError):
        keyids.resolve_key_paths({"path": "/a/c/o"}, "a", "c", "o")


@pytest.mark.parametrize("path", ["", None, 5, "a/c/o", "/a", "noslash", "/"])
@pytest.mark.parametrize("version", ["2", "3"])
def test_malformed_path(path, version):
    with pytest.raises(CryptoError):
        keyids.resolve_key_paths({"v": version, "path": path}, "a", "c", "o")


@pytest.mark.parametrize("key_id", [None, "id", ["v", "2"], {"v": "2", "path": "/a/c",
                                                            "secret_id": 5}])
def test_malformed_key_id(key_id):
    with pytest.raises(CryptoError):
        keyids.resolve_key_paths(key_id, "a", "c", "o")


def test_parse_key_id():
    assert keyids.parse_key_id({"v": "3", "path": "/a/c", "secret_id": "s"}) == (
        "s", "3", "/a/c")
    assert keyids.parse_key_id({"v": "1", "path": "/o"}) == (None, "1", "/o")


_part = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"),
                min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(acct=_part, cont=_part, obj=st.text(st.characters(blacklist_categories=("Cs",)),
                                          min_size=1, max_size=20),
       version=st.sampled_from(["1", "2", "3"]),
       secret_id=st.none() | st.text(min_size=1, max_size=5))
def test_make_resolve_round_trip(acct, cont, obj, version, secret_id):
    opath = keyids.object_path(acct, cont, obj, version)
    key_id = keyids.make_key_id(opath, secret_id, version)
    assert keyids.resolve_key_paths(key_id, acct, cont, obj) == (
        secret_id, version, keyids.container_path(acct, cont), opath)
    cpath = keyids.container_path(acct, cont)
    cid = keyids.make_key_id(cpath, secret_id, version)
    assert keyids.resolve_key_paths(cid, acct, cont, None) == (secret_id, version, cpath, None)


@pytest.mark.parametrize("obj", ["/a/x", "/a/x/y", "/a/c/o", "/a/"])
def test_resolve_v1_bare_name_that_looks_like_a_path(obj):
    """A v1 object named "/<account>/..." was stored under its bare name."""
    key_id = keyids.make_key_id(keyids.object_path("a", "c", obj, "1"), None, "1")
    assert key_id == {"v": "1", "path": obj}
    assert keyids.resolve_key_paths(key_id, "a", "c", obj) == (None, "1", "/a/c", obj)


def test_resolve_v1_bare_name_that_looks_like_a_path_non_ascii():
    obj = "/%s/\u00e9" % ACCT
    key_id = keyids.make_key_id(keyids.object_path(ACCT, CONT, obj, "1"), "s", "1")
    assert keyids.resolve_key_paths(key_id, ACCT, CONT, obj) == ("s", "1", CPATH, obj)


@settings(max_examples=100, deadline=None)
@given(acct=_part, cont=_part, rest=st.text(st.characters(blacklist_categories=("Cs",)),
                                            max_size=20),
       version=st.sampled_from(["1", "2", "3"]))
def test_make_resolve_round_trip_slash_names(acct, cont, rest, version):
    obj = "/%s/%s" % (acct, rest)
    opath = keyids.object_path(acct, cont, obj, version)
    key_id = keyids.make_key_id(opath, None, version)
    assert keyids.resolve_key_paths(key_id, acct, cont, obj) == (
        None, version, keyids.container_path(acct, cont), opath)


# --- split_path and the split shared through the environ ----------------------------

def _split_slowly(path_info):
    from swiftcrypt.common.swiftpath import split_wsgi_path, wsgi_to_str

    parts = split_wsgi_path(path_info)
    if parts is None:
        return None
    try:
        return tuple(None if p is None else wsgi_to_str(p) for p in parts)
    except UnicodeDecodeError:
        return None


_wsgi_paths = st.lists(
    st.text(alphabet="/abc\x00\xe9\xc3\xa9\xff~ ", max_size=6), max_size=6
).map("/".join) | st.text(max_size=20).map(str_to_wsgi)


@settings(max_examples=300, deadline=None)
@given(path=_wsgi_paths)
def test_split_path_ascii_shortcut_agrees(path):
    from swiftcrypt.common.swiftpath import split_path

    assert split_path(path) == _split_slowly(path)


def test_request_parts_split_once_and_follow_path_changes():
    from swiftcrypt.common import swiftpath

    environ = {"PATH_INFO": "/v1/a/c/o"}
    first = swiftpath.request_parts(environ)
    assert first == ("v1", "a", "c", "o")
    assert swiftpath.request_parts(environ) is first
    environ["PATH_INFO"] = "/v1/a/c2/\xc3\xa9"  # a filter between ours rewrote it
    assert swiftpath.request_parts(environ) == ("v1", "a", "c2", "\u00e9")
    environ["PATH_INFO"] = "/v1/a/c/\xff"
    assert swiftpath.request_parts(environ) is None
    assert swiftpath.request_parts({}) is None


# ----------------------------------------------------------- account key ids

def test_account_path():
    assert keyids.account_path("a") == "/a"


@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_resolve_account_own_ids(version):
    key_id = keyids.make_key_id(keyids.account_path("\u00e9"), "s", version)
    assert keyids.resolve_account_path(key_id, "\u00e9") == ("s", version, "/\u00e9")


def test_resolve_account_real_text_under_v2():
    # a proxy that stored real text under v2 still resolves
    assert keyids.resolve_account_path({"v": "2", "path": "/\u00e9"}, "\u00e9") == (
        None, "2", "/\u00e9")


@pytest.mark.parametrize("key_id, account", [
    ({"v": "3", "path": "/b"}, "a"), ({"v": "2", "path": "/b"}, "a"),
    ({"v": "1", "path": "/b"}, "a"),
    ({"v": "2", "path": "/A"}, "a"),  # account names are case-sensitive
    ({"v": "3", "path": "/\xc3\xa9"}, "\u00e9"),  # a WSGI string is not real text under v3
])
def test_resolve_account_refuses_another_accounts_key_id(key_id, account):
    # unlike an object's (copy may run on the wrong side of encryption),
    # an account value never legitimately names another account
    with pytest.raises(CryptoError):
        keyids.resolve_account_path(key_id, account)


@pytest.mark.parametrize("path", ["", None, "/", "a", "/a/c", "/a/c/o", "/a/", "//"])
@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_resolve_account_refuses_other_paths(path, version):
    with pytest.raises(CryptoError):
        keyids.resolve_account_path({"v": version, "path": path}, "a")


@pytest.mark.parametrize("key_id", [None, {"v": "9", "path": "/a"},
                                    {"v": "2", "path": "/a", "secret_id": 5}])
def test_resolve_account_refuses_bad_key_ids(key_id):
    with pytest.raises(CryptoError):
        keyids.resolve_account_path(key_id, "a")


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("request_parts", [("a", "c", "o"), ("a", "c", None)])
def test_an_account_key_id_is_no_container_or_object_key_id(version, request_parts):
    # account paths are accepted only by resolve_account_path
    with pytest.raises(CryptoError):
        keyids.resolve_key_paths({"v": version, "path": "/a"}, *request_parts)


@pytest.mark.parametrize("version", ["1", "2", "3"])
@pytest.mark.parametrize("parts", [("\u00e9",), ("\u00e9", "c\u00fc")])
def test_check_db_key_id_accepts_the_accounts_or_containers_own(version, parts):
    key_id = keyids.make_key_id("/" + "/".join(parts), "s", version)
    keyids.check_db_key_id(key_id, *parts)


@pytest.mark.parametrize("path, parts", [
    ("/b", ("a",)), ("/a/c", ("a",)), ("/a", ("a", "c")), ("/a/d", ("a", "c")),
    ("/b/c", ("a", "c")), ("/a/c/o", ("a", "c")), ("a/c", ("a", "c")), ("/a/", ("a", "c")),
])
def test_check_db_key_id_refuses_any_other_path(path, parts):
    with pytest.raises(CryptoError):
        keyids.check_db_key_id({"v": "2", "path": path}, *parts)
