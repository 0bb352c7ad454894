"""The keymaster filter: configuration errors and the keys callback."""

import base64
import logging
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swift.common import exceptions as swift_exceptions
from swift.common.middleware.crypto import keymaster as swift_keymaster

from swiftcrypt.crypto import derivation

from swiftcrypt.crypto import keyids

from swiftcrypt.keymasters import config_keymaster
from swiftcrypt.common.errors import ConfigError, CryptoError, UnknownSecretIdError
from tests.support.keymasters import CALLBACK, Capture, environ, passed_on

SECRET_A = bytes(range(32))
SECRET_B = bytes(range(64, 112))
SECRET_C = b"\x5a" * 33
B64_A = base64.b64encode(SECRET_A).decode()
B64_B = base64.b64encode(SECRET_B).decode()
B64_C = base64.b64encode(SECRET_C).decode()


def run(conf, path_info, method="GET", factory=config_keymaster.filter_factory, **extra):
    return passed_on(factory, conf, path_info, method, **extra)


def fetcher(conf, path_info="/v1/a/c/o", **kw):
    return run(conf, path_info, **kw)[CALLBACK]


# --- configuration errors -------------------------------------------------------------

def config_error(conf, secrets=()):
    """filter_factory must refuse ``conf``; return the error, checked."""
    with pytest.raises(ConfigError) as info:
        config_keymaster.filter_factory({}, **conf)
    err = info.value
    message = str(err)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(err.option + ": ")
    for secret in secrets:
        assert secret not in message
        assert secret not in repr(err)
        for linked in printed_chain(err):
            assert secret not in str(linked)
    return err


def printed_chain(err):
    """The exceptions a traceback of ``err`` would show after it."""
    while True:
        if err.__cause__ is not None:
            err = err.__cause__
        elif err.__context__ is not None and not err.__suppress_context__:
            err = err.__context__
        else:
            return
        yield err


def test_no_secret():
    err = config_error({})
    assert err.option == "encryption_root_secret"
    err = config_error({"active_root_secret_id": "x", "meta_version_to_write": "2"})
    assert err.option == "encryption_root_secret"


@pytest.mark.parametrize("bad", [
    "not base64 at all!",
    B64_A[:-2] + "*=",
    B64_A + "A",  # wrong padding
    "\u00e9" * 44,
])
def test_bad_base64(bad):
    err = config_error({"encryption_root_secret": bad}, [bad])
    assert err.option == "encryption_root_secret"
    assert "base64" in str(err)


def test_bad_base64_named_secret():
    bad = "%%%%" + B64_B
    err = config_error({"encryption_root_secret": B64_A, "encryption_root_secret_k2": bad},
                       [bad, B64_A, "%%%%"])
    assert err.option == "encryption_root_secret_k2"
    assert "encryption_root_secret_k2" in str(err)


@pytest.mark.parametrize("size", [1, 16, 31])
def test_short_secret(size):
    short = base64.b64encode(bytes(range(size))).decode()
    err = config_error({"encryption_root_secret": short}, [short])
    assert err.option == "encryption_root_secret"
    assert str(size) in str(err) and "32" in str(err)


def test_short_named_secret():
    short = base64.b64encode(b"s" * 31).decode()
    err = config_error({"encryption_root_secret_old": short, "encryption_root_secret": B64_A},
                       [short, B64_A])
    assert err.option == "encryption_root_secret_old"


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_value(value):
    err = config_error({"encryption_root_secret": value})
    assert err.option == "encryption_root_secret"
    assert "empty" in str(err)
    err = config_error({"encryption_root_secret": B64_A, "encryption_root_secret_2": value},
                       [B64_A])
    assert err.option == "encryption_root_secret_2"


@pytest.mark.parametrize("option", ["encryption_root_secret_", "encryption_root_secretx"])
def test_misnamed_secret_option(option):
    err = config_error({"encryption_root_secret": B64_A, option: B64_B}, [B64_A, B64_B])
    assert err.option == option


def test_active_root_secret_id_missing():
    err = config_error({"encryption_root_secret": B64_A,
                        "encryption_root_secret_1": B64_B,
                        "active_root_secret_id": "2"}, [B64_A, B64_B])
    assert err.option == "active_root_secret_id"
    assert "'2'" in str(err)


def test_only_named_secrets_need_an_active_id():
    err = config_error({"encryption_root_secret_1": B64_A}, [B64_A])
    assert err.option == "encryption_root_secret"


@pytest.mark.parametrize("version", ["0", "4", "v2", "2.0", "two"])
def test_meta_version_to_write_invalid(version):
    err = config_error({"encryption_root_secret": B64_A, "meta_version_to_write": version},
                       [B64_A])
    assert err.option == "meta_version_to_write"
    assert version in str(err)


@pytest.mark.parametrize("version", ["1", "2", "3", " 3 "])
def test_meta_version_to_write_valid(version):
    fetch = fetcher({"encryption_root_secret": B64_A, "meta_version_to_write": version})
    assert fetch()["id"]["v"] == version.strip()


def test_meta_version_defaults_to_2():
    assert fetcher({"encryption_root_secret": B64_A})()["id"] == {"v": "2", "path": "/a/c/o"}
    assert fetcher({"encryption_root_secret": B64_A,
                    "meta_version_to_write": ""})()["id"]["v"] == "2"


def test_secret_may_be_wrapped_over_lines():
    wrapped = B64_B[:20] + "\n  " + B64_B[20:]
    fetch = fetcher({"encryption_root_secret": wrapped})
    assert fetch()["container"] == derivation.derive_key(SECRET_B, "/a/c")


# --- keymaster_config_path --------------------------------------------------------------

def write_conf(tmp_path, text, mode=0o600, name="keymaster.conf"):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def test_config_path_missing_file(tmp_path):
    err = config_error({"keymaster_config_path": str(tmp_path / "nope.conf")})
    assert err.option == "keymaster_config_path"
    assert "nope.conf" in str(err)


def test_config_path_missing_section(tmp_path):
    path = write_conf(tmp_path, "[other]\nencryption_root_secret = %s\n" % B64_A)
    err = config_error({"keymaster_config_path": path}, [B64_A])
    assert err.option == "keymaster_config_path"
    assert "[keymaster]" in str(err)


def test_config_path_not_a_config_file(tmp_path):
    # no section header: configparser quotes the first line, the secret
    path = write_conf(tmp_path, "encryption_root_secret = %s\n" % B64_A)
    err = config_error({"keymaster_config_path": path}, [B64_A])
    assert err.option == "keymaster_config_path"


@pytest.mark.parametrize("option", ["encryption_root_secret", "encryption_root_secret_7",
                                    "active_root_secret_id"])
def test_config_path_and_options_in_both_places(tmp_path, option):
    path = write_conf(tmp_path, "[keymaster]\nencryption_root_secret = %s\n" % B64_A)
    value = B64_B if option.startswith("encryption") else "7"
    err = config_error({"keymaster_config_path": path, option: value}, [B64_A, B64_B])
    assert err.option == "keymaster_config_path"
    assert option in str(err)


def test_config_path_bad_secret_in_file(tmp_path):
    short = base64.b64encode(b"x" * 20).decode()
    path = write_conf(tmp_path, "[keymaster]\nencryption_root_secret = %s\n" % short)
    err = config_error({"keymaster_config_path": path}, [short])
    assert err.option == "encryption_root_secret"


def test_config_path_works(tmp_path, caplog):
    path = write_conf(tmp_path, (
        "[keymaster]\n"
        "encryption_root_secret = %s\n"
        "encryption_root_secret_new = %s\n"
        "active_root_secret_id = new\n") % (B64_A, B64_B))
    with caplog.at_level(logging.WARNING):
        fetch = fetcher({"keymaster_config_path": path, "meta_version_to_write": "3"})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    keys = fetch()
    assert keys["container"] == derivation.derive_key(SECRET_B, "/a/c")
    assert keys["object"] == derivation.derive_key(SECRET_B, "/a/c/o")
    assert keys["id"] == {"v": "3", "path": "/a/c/o", "secret_id": "new"}
    assert [k.get("secret_id") for k in keys["all_ids"]] == ["new", None]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_config_path_readable_by_others_warns(tmp_path, caplog, mode):
    path = write_conf(tmp_path, "[keymaster]\nencryption_root_secret = %s\n" % B64_A, mode)
    with caplog.at_level(logging.WARNING):
        fetch = fetcher({"keymaster_config_path": path})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    assert any(path in r.getMessage() for r in warnings)
    assert all(B64_A not in r.getMessage() for r in caplog.records)
    # it still works
    assert fetch()["container"] == derivation.derive_key(SECRET_A, "/a/c")


def test_config_path_same_as_swift(tmp_path):
    path = write_conf(tmp_path, (
        "[keymaster]\nencryption_root_secret_1 = %s\nencryption_root_secret_2 = %s\n"
        "active_root_secret_id = 2\n") % (B64_A, B64_C))
    conf = {"keymaster_config_path": path}
    ours = fetcher(conf)()
    theirs = fetcher(conf, factory=swift_keymaster.filter_factory)()
    assert ours["object"] == theirs["object"] == derivation.derive_key(SECRET_C, "/a/c/o")
    assert ours["id"] == theirs["id"]


# --- the keys callback ----------------------------------------------------------------

MULTI = {
    "encryption_root_secret": B64_A,
    "encryption_root_secret_b": B64_B,
    "encryption_root_secret_c": B64_C,
    "active_root_secret_id": "c",
}


def test_all_ids_lists_every_secret_active_first():
    keys = fetcher(MULTI)()
    assert keys["id"] == {"v": "2", "path": "/a/c/o", "secret_id": "c"}
    assert keys["all_ids"][0] == keys["id"]
    assert [k.get("secret_id") for k in keys["all_ids"]] == ["c", None, "b"]
    assert all(k["path"] == "/a/c/o" and k["v"] == "2" for k in keys["all_ids"])
    assert keys["object"] == derivation.derive_key(SECRET_C, "/a/c/o")
    assert keys["container"] == derivation.derive_key(SECRET_C, "/a/c")


def test_all_ids_unnamed_active():
    conf = dict(MULTI)
    del conf["active_root_secret_id"]
    keys = fetcher(conf)()
    assert "secret_id" not in keys["id"]
    assert [k.get("secret_id") for k in keys["all_ids"]] == [None, "b", "c"]


@pytest.mark.parametrize("secret_id,secret", [(None, SECRET_A), ("b", SECRET_B),
                                              ("c", SECRET_C)])
def test_fetch_with_stored_id_of_any_secret(secret_id, secret):
    fetch = fetcher(MULTI)
    key_id = {"v": "2", "path": "/a/c/o"}
    if secret_id is not None:
        key_id["secret_id"] = secret_id
    keys = fetch(key_id)
    assert keys["object"] == derivation.derive_key(secret, "/a/c/o")
    assert keys["container"] == derivation.derive_key(secret, "/a/c")
    assert keys["id"] == key_id
    # the ids of all the others are still listed
    assert len(keys["all_ids"]) == 3
    # and each id listed by fetch() round-trips
    for listed in fetch()["all_ids"]:
        assert fetch(key_id=listed)["id"] == listed


def test_fetch_returns_independent_dicts():
    fetch = fetcher(MULTI)
    first = fetch()
    first["object"] = b"tampered"
    assert fetch()["object"] == derivation.derive_key(SECRET_C, "/a/c/o")


def test_unknown_secret_id():
    fetch = fetcher(MULTI)
    with pytest.raises(UnknownSecretIdError) as info:
        fetch({"v": "2", "path": "/a/c/o", "secret_id": "nope"})
    err = info.value
    assert isinstance(err, swift_exceptions.UnknownSecretIdError)
    assert isinstance(err, CryptoError)
    assert err.args[0] == "nope"


def test_unknown_unnamed_secret():
    fetch = fetcher({"encryption_root_secret_x": B64_A, "active_root_secret_id": "x"})
    with pytest.raises(swift_exceptions.UnknownSecretIdError):
        fetch({"v": "2", "path": "/a/c/o"})


def test_bad_stored_key_id_raises_crypto_error():
    fetch = fetcher(MULTI)
    with pytest.raises(CryptoError):
        fetch({"v": "9", "path": "/a/c/o"})
    with pytest.raises(CryptoError):
        fetch({"v": "2", "path": "nonsense"})


def test_chains_to_callback_already_in_environ():
    calls = []

    def earlier(key_id=None, *args, **kwargs):
        calls.append(key_id)
        if key_id is None or key_id.get("secret_id") == "kms":
            return {"container": b"C" * 32, "object": b"O" * 32,
                    "id": {"v": "3", "path": "/a/c/o", "secret_id": "kms"},
                    "all_ids": [{"v": "3", "path": "/a/c/o", "secret_id": "kms"}]}
        raise swift_exceptions.UnknownSecretIdError(key_id.get("secret_id"))

    fetch = fetcher(MULTI, **{CALLBACK: earlier})
    assert fetch is not earlier
    # our own ids are ours
    keys = fetch()
    assert keys["object"] == derivation.derive_key(SECRET_C, "/a/c/o")
    # readers learn about the earlier keymaster's secrets too
    assert [k.get("secret_id") for k in keys["all_ids"]] == ["c", None, "b", "kms"]
    calls.clear()
    assert fetch({"v": "2", "path": "/a/c/o", "secret_id": "b"})["object"] == \
        derivation.derive_key(SECRET_B, "/a/c/o")
    assert {"v": "2", "path": "/a/c/o", "secret_id": "b"} not in calls
    # ids we do not know go to the earlier keymaster
    calls.clear()
    kms_id = {"v": "3", "path": "/a/c/o", "secret_id": "kms"}
    assert fetch(kms_id)["object"] == b"O" * 32
    assert calls == [kms_id]
    # and its errors reach the caller
    with pytest.raises(swift_exceptions.UnknownSecretIdError):
        fetch({"v": "3", "path": "/a/c/o", "secret_id": "neither"})


def test_chained_with_swift_keymaster_both_ways():
    """Swift's keymaster and ours in one pipeline, each knowing one secret."""
    ours_conf = {"encryption_root_secret_ours": B64_A, "active_root_secret_id": "ours"}
    swift_conf = {"encryption_root_secret_swift": B64_B, "active_root_secret_id": "swift"}
    ours_id = {"v": "2", "path": "/a/c/o", "secret_id": "ours"}
    swift_id = {"v": "2", "path": "/a/c/o", "secret_id": "swift"}
    for first, second, first_conf, second_conf in (
        (swift_keymaster.filter_factory, config_keymaster.filter_factory, swift_conf, ours_conf),
        (config_keymaster.filter_factory, swift_keymaster.filter_factory, ours_conf, swift_conf),
    ):
        app = Capture()
        pipeline = first({}, **first_conf)(second({}, **second_conf)(app))
        list(pipeline(environ("/v1/a/c/o"), lambda *a, **kw: None))
        fetch = app.environ[CALLBACK]
        assert fetch(ours_id)["object"] == derivation.derive_key(SECRET_A, "/a/c/o")
        assert fetch(swift_id)["object"] == derivation.derive_key(SECRET_B, "/a/c/o")
        ids = [k["secret_id"] for k in fetch()["all_ids"]]
        assert sorted(ids) == ["ours", "swift"]


@pytest.mark.parametrize("path", ["/", "", "/v1", "/v1/", "info", "/healthcheck",
                                  "/v1//c/o", "/v1/a//o"])
def test_non_swift_paths_get_no_callback(path):
    env = run({"encryption_root_secret": B64_A}, path)
    assert CALLBACK not in env


def test_non_utf8_paths_get_no_callback():
    for path in ("/v1/a/c/\xff", "/v1/\xc3/c", "/v1/a/\xe9t\xe9"):
        env = run({"encryption_root_secret": B64_A}, path)
        assert CALLBACK not in env
    # an earlier keymaster's callback is left alone
    earlier = object()
    env = run({"encryption_root_secret": B64_A}, "/v1/a/c/\xff", **{CALLBACK: earlier})
    assert env[CALLBACK] is earlier


@pytest.mark.parametrize("method", ["DELETE", "OPTIONS", "COPY", "UPDATE", "REPLICATE"])
def test_other_methods_get_no_callback(method):
    env = run({"encryption_root_secret": B64_A}, "/v1/a/c/o", method)
    assert CALLBACK not in env


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "POST"])
def test_key_methods_get_callback(method):
    env = run({"encryption_root_secret": B64_A}, "/v1/a/c/o", method)
    assert env[CALLBACK]()["object"] == derivation.derive_key(SECRET_A, "/a/c/o")


def test_utf8_wsgi_path_gives_keys_of_real_text():
    env = run({"encryption_root_secret": B64_A}, "/v1/\xc3\xa9/c/\xe2\x98\x83")
    keys = env[CALLBACK]()
    assert keys["object"] == derivation.derive_key(SECRET_A, "/\u00e9/c/\u2603")
    assert keys["id"] == {"v": "2", "path": "/\xc3\xa9/c/\xe2\x98\x83"}


def test_container_and_account_requests():
    cont = run({"encryption_root_secret": B64_A}, "/v1/a/c")[CALLBACK]()
    assert set(cont) == {"container", "id", "all_ids"}
    assert cont["id"] == {"v": "2", "path": "/a/c"}
    acct = run({"encryption_root_secret": B64_A}, "/v1/a")[CALLBACK]()
    assert acct == {"account": derivation.derive_key(SECRET_A, "/a"),
                    "id": {"v": "2", "path": "/a"}, "all_ids": [{"v": "2", "path": "/a"}]}


def test_account_keys_for_stored_key_ids():
    conf = dict(MULTI)
    fetch = run(conf, "/v1/\xc3\xa9")[CALLBACK]
    active = fetch()
    assert active["account"] == derivation.derive_key(
        config_keymaster.root_secrets_from_conf(conf).get(active["id"].get("secret_id")), "/\u00e9")
    assert len(active["all_ids"]) == len(config_keymaster.root_secrets_from_conf(conf).ids())
    for key_id in active["all_ids"]:
        again = fetch(key_id=key_id)
        assert again["id"] == key_id
        assert again["account"] == derivation.derive_key(
            config_keymaster.root_secrets_from_conf(conf).get(key_id.get("secret_id")), "/\u00e9")
    # a v3 id (real text) derives the same key as the v2 one (WSGI string)
    v3 = dict(active["id"], v="3", path="/\u00e9")
    assert fetch(key_id=v3)["account"] == active["account"]
    with pytest.raises(CryptoError):
        fetch(key_id=dict(active["id"], path="/\xc3\xa9/c"))  # a container's key id
    with pytest.raises(UnknownSecretIdError):
        fetch(key_id=dict(active["id"], secret_id="nope"))


def test_root_secrets_repr_hides_secrets():
    secrets = config_keymaster.root_secrets_from_conf(MULTI)
    text = repr(secrets)
    assert SECRET_A.hex() not in text and repr(SECRET_A) not in text
    assert repr(SECRET_C) not in text and B64_C not in text
    assert secrets.ids() == ["c", None, "b"]
    assert secrets.get("b") == SECRET_B
    with pytest.raises(UnknownSecretIdError):
        secrets.get("zz")


def test_filter_passes_response_through():
    km = config_keymaster.filter_factory({}, encryption_root_secret=B64_A)(Capture())
    started = []
    body = km(environ("/v1/a/c/o"), lambda status, headers, *a: started.append(status))
    assert list(body) == [b""]
    assert started == ["200 OK"]


# --- a stored id equal to the active one skips resolve_key_paths --------------------

def _resolved_keys(roots, key_id, account, container, obj):
    secret_id, version, cpath, opath = keyids.resolve_key_paths(key_id, account, container, obj)
    keys = {"container": derivation.derive_key(roots.get(secret_id), cpath),
            "id": keyids.make_key_id(opath if opath is not None else cpath, secret_id, version)}
    if opath is not None:
        keys["object"] = derivation.derive_key(roots.get(secret_id), opath)
    return keys


_names = st.text(alphabet="ab/\u00e9 ~", min_size=1, max_size=5).filter(lambda s: "/" not in s)


@settings(max_examples=200, deadline=None)
@given(account=_names, container=_names,
       obj=st.none() | st.text(alphabet="ab/\u00e9", min_size=1, max_size=6),
       version=st.sampled_from(keyids.VERSIONS), active=st.sampled_from([None, "b"]))
def test_active_id_shortcut_agrees_with_resolving(account, container, obj, version, active):
    roots = config_keymaster.RootSecrets({None: SECRET_A, "b": SECRET_B}, active)
    km = config_keymaster.KeyMaster(None, roots, version)
    keys = config_keymaster.RequestKeys(km, account, container, obj)
    active_keys = keys.fetch()
    stored = keys.fetch(key_id=active_keys["id"])
    assert stored == active_keys
    expected = _resolved_keys(roots, active_keys["id"], account, container, obj)
    for name, value in expected.items():
        assert stored[name] == value
    # ids of other secrets still resolve, and to other keys
    other = [i for i in active_keys["all_ids"] if i != active_keys["id"]][0]
    assert keys.fetch(key_id=other)["object" if obj else "container"] != \
        active_keys["object" if obj else "container"]


def test_path_split_once_for_the_filters_after_the_keymaster():
    from swiftcrypt.common.swiftpath import PARTS_KEY

    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []

    km = config_keymaster.KeyMaster(app, config_keymaster.RootSecrets({None: SECRET_A}))
    km({"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/a/c/o"}, None)
    assert seen[PARTS_KEY] == ("/v1/a/c/o", ("v1", "a", "c", "o"))


# --- derived keys reused across requests (bounded, per RootSecrets) --------------------

def _counting(monkeypatch):
    calls = []
    real = derivation.request_keys

    def counted(*args):
        calls.append(args[2:4])  # (version, cpath): never the secret
        return real(*args)

    monkeypatch.setattr(derivation, "request_keys", counted)
    return calls


def test_keys_are_derived_once_per_paths_across_requests(monkeypatch):
    calls = _counting(monkeypatch)
    roots = config_keymaster.RootSecrets({None: SECRET_A})
    km = config_keymaster.KeyMaster(None, roots)
    first = config_keymaster.RequestKeys(km, "a", "c", "o").fetch()
    again = config_keymaster.RequestKeys(km, "a", "c", "o").fetch()
    other = config_keymaster.RequestKeys(km, "a", "c", "o2").fetch()
    assert len(calls) == 2  # o once, o2 once
    assert again == first and other["container"] == first["container"]
    assert first["object"] == derivation.derive_key(SECRET_A, "/a/c/o")
    # what a request gets is its own: changing it changes no later request
    again["id"]["path"] = "/x/y/z"
    again["all_ids"][0]["v"] = "9"
    again["all_ids"].append({})
    again["object"] = b"x" * 32
    assert config_keymaster.RequestKeys(km, "a", "c", "o").fetch() == first


@settings(max_examples=100, deadline=None)
@given(account=_names, container=_names,
       obj=st.none() | st.text(alphabet="ab/\u00e9", min_size=1, max_size=6),
       version=st.sampled_from(keyids.VERSIONS), secret_id=st.sampled_from([None, "b"]))
def test_cached_keys_equal_derivation(account, container, obj, version, secret_id):
    roots = config_keymaster.RootSecrets({None: SECRET_A, "b": SECRET_B})
    cpath, opath = keyids.request_paths(account, container, obj, version)
    expected = derivation.request_keys(roots.get(secret_id), secret_id, version, cpath, opath,
                                       roots.ids())
    assert roots.request_keys(secret_id, version, cpath, opath) == expected
    assert roots.request_keys(secret_id, version, cpath, opath) == expected  # from the cache


def test_derived_keys_are_bounded(monkeypatch):
    monkeypatch.setattr(derivation, "CACHE_ENTRIES", 4)
    calls = _counting(monkeypatch)
    roots = config_keymaster.RootSecrets({None: SECRET_A})
    km = config_keymaster.KeyMaster(None, roots)
    for i in range(10):
        config_keymaster.RequestKeys(km, "a", "c", "o%d" % i).fetch()
    assert len(roots._derived) == 4
    config_keymaster.RequestKeys(km, "a", "c", "o0").fetch()  # evicted: derived again
    assert len(calls) == 11
    config_keymaster.RequestKeys(km, "a", "c", "o9").fetch()  # still cached
    assert len(calls) == 11
    assert "a/c" not in repr(roots._derived) and SECRET_A.hex() not in repr(roots._derived)
    with pytest.raises(ValueError):
        derivation.DerivedKeys(max_entries=0)


def test_a_retired_secret_is_not_served_from_the_cache():
    """A rotation or retirement builds new RootSecrets (a reloaded
    pipeline): keys cached from the old ones serve none of its requests."""
    old = config_keymaster.RootSecrets({"old": SECRET_A, "new": SECRET_B}, "old")
    km = config_keymaster.KeyMaster(None, old)
    written = config_keymaster.RequestKeys(km, "a", "c", "o").fetch()
    assert written["id"]["secret_id"] == "old"
    # the same secret id now names another secret: the cache must not answer
    km.root_secrets = config_keymaster.RootSecrets({"old": SECRET_C, "new": SECRET_B}, "new")
    reread = config_keymaster.RequestKeys(km, "a", "c", "o").fetch(key_id=written["id"])
    assert reread["object"] == derivation.derive_key(SECRET_C, "/a/c/o") != written["object"]
    # retired: its items no longer read, though their keys were cached
    km.root_secrets = config_keymaster.RootSecrets({"new": SECRET_B}, "new")
    with pytest.raises(UnknownSecretIdError):
        config_keymaster.RequestKeys(km, "a", "c", "o").fetch(key_id=written["id"])
    # and through the filter, as a reload builds it
    conf = {"encryption_root_secret_new": B64_B, "active_root_secret_id": "new"}
    with pytest.raises(UnknownSecretIdError):
        fetcher(conf)(key_id=written["id"])


def test_a_containers_key_is_derived_once_for_all_its_objects(monkeypatch):
    derived = []
    real = derivation.hmac_sha256

    def counted(key, message):
        derived.append(message)
        return real(key, message)

    monkeypatch.setattr(derivation, "hmac_sha256", counted)
    roots = config_keymaster.RootSecrets({None: SECRET_A, "b": SECRET_B})
    km = config_keymaster.KeyMaster(None, roots)
    for name in ("o1", "o2", "o3"):
        keys = config_keymaster.RequestKeys(km, "a", "c", name).fetch()
        assert keys["container"] == real(SECRET_A, b"/a/c")
        assert keys["object"] == real(SECRET_A, b"/a/c/" + name.encode())
    assert derived == [b"/a/c", b"/a/c/o1", b"/a/c/o2", b"/a/c/o3"]
    # per secret: another secret's container key is its own
    b_keys = config_keymaster.RequestKeys(km, "a", "c", "o1").fetch(
        key_id=keyids.make_key_id("/a/c/o1", "b", "2"))
    assert b_keys["container"] == real(SECRET_B, b"/a/c")


def test_a_requests_active_keys_are_found_by_its_path_parts(monkeypatch):
    formatted = []
    real = keyids.request_paths

    def counted(*args):
        formatted.append(args)
        return real(*args)

    monkeypatch.setattr(keyids, "request_paths", counted)
    km = config_keymaster.KeyMaster(None, config_keymaster.RootSecrets({None: SECRET_A}))
    first = config_keymaster.RequestKeys(km, "a", "c", "\u00e9").fetch()
    again = config_keymaster.RequestKeys(km, "a", "c", "\u00e9").fetch(key_id=first["id"])
    assert first == again and len(formatted) == 1  # the second request formats no path
    assert first["object"] == derivation.derive_key(SECRET_A, "/a/c/\u00e9")
