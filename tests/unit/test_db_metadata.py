"""Encrypted account and container user metadata (encrypt_account_metadata,
encrypt_container_metadata): what both levels share, each test run once per
level - the encryption filter in-process over a backend that keeps the
metadata as Swift's account and container servers do. Level-specific
behaviour is in test_account_metadata.py and test_container_metadata.py."""

import base64
import json
import logging

import pytest

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import derivation
from swiftcrypt.middleware.constraints import (
    MAX_META_COUNT, MAX_META_OVERALL_SIZE, MAX_META_VALUE_LENGTH)
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline

SECRET_A = base64.b64encode(b"A" * 32).decode()
SECRET_B = base64.b64encode(b"B" * 32).decode()


class Level:
    """One level's names, as the tests below use them."""

    def __init__(self, kind, path, key_path, listed):
        self.kind = kind
        self.path = path
        self.key_path = key_path  # the key id path of its values
        self.listed = listed  # the name DbStore's listing holds
        self.meta = "X-%s-Meta-" % kind.title()
        self.remove = "X-Remove-%s-Meta-" % kind.title()
        self.crypto = "X-%s-Sysmeta-Crypto-Meta-" % kind.title()
        self.option = "encrypt_%s_metadata" % kind

    def __repr__(self):
        return self.kind


LEVELS = [Level("container", "/v1/a/c", "/a/c", "o"), Level("account", "/v1/a", "/a", "c")]


@pytest.fixture(params=LEVELS, ids=repr)
def lv(request):
    return request.param


@pytest.fixture
def store(lv):
    return DbStore(lv.kind, lv.path)


def pipeline(lv, store, secret=SECRET_A, **encryption_conf):
    encryption_conf.setdefault(lv.option, "true")
    return encrypting_pipeline(store, {"encryption_root_secret": secret}, **encryption_conf)


def w(text):
    """Real text as the WSGI string headers carry."""
    return text.encode("utf-8").decode("latin-1")


def post(lv, app, **values):
    """A POST setting ``values`` (name -> value) of ``lv``'s metadata."""
    return call(app, lv.path, "POST", headers={lv.meta + k: v for k, v in values.items()})


# ---------------------------------------------------------------- round trips

def test_put_and_post_encrypt_and_get_head_decrypt(lv, store):
    app = pipeline(lv, store)
    assert call(app, lv.path, "PUT", headers={lv.meta + "Color": "blue"}).status_int == 204
    assert post(lv, app, Owner=w("Zoë Sécret")).status_int == 204
    assert lv.meta + "Color" not in store.meta
    assert [n for n, v in store.meta.items() if "blue" in v] == []
    value = store.meta[lv.crypto + "Color"]
    assert "; swift_meta=" in value and "key_id" in value
    for method in ("GET", "HEAD"):
        resp = call(app, lv.path, method)
        assert resp.status_int == 200
        assert resp.headers[lv.meta + "Color"] == "blue"
        assert resp.headers[lv.meta + "Owner"] == w("Zoë Sécret")
        assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    # the listing body is still served
    assert json.loads(call(app, lv.path).body)[0]["name"] == lv.listed


def test_each_value_has_its_own_iv_and_key_id(lv, store):
    post(lv, pipeline(lv, store), A="same", B="same")
    a, b = store.meta[lv.crypto + "A"], store.meta[lv.crypto + "B"]
    assert a.split(";")[0] != b.split(";")[0]
    assert cryptometa.extract(a)[1]["key_id"] == {"v": "2", "path": lv.key_path}


def test_values_written_under_an_older_secret_still_read(lv, store):
    post(lv, pipeline(lv, store), A="first")
    # rotate: the old secret stays for reads, a new one writes
    keymaster = {"encryption_root_secret": SECRET_A, "encryption_root_secret_new": SECRET_B,
                 "active_root_secret_id": "new"}
    new = encrypting_pipeline(store, keymaster, **{lv.option: "true"})
    post(lv, new, B="second")
    assert cryptometa.extract(store.meta[lv.crypto + "B"])[1]["key_id"] == {
        "v": "2", "path": lv.key_path, "secret_id": "new"}
    resp = call(new, lv.path, "HEAD")
    assert (resp.headers[lv.meta + "A"], resp.headers[lv.meta + "B"]) == ("first", "second")


def test_encrypting_a_name_clears_its_old_plain_copy(lv, store):
    post(lv, pipeline(lv, store, **{lv.option: "false"}), Color="red")
    assert store.meta[lv.meta + "Color"] == "red"
    app = pipeline(lv, store)
    post(lv, app, Color="green")
    assert lv.meta + "Color" not in store.meta
    assert call(app, lv.path, "HEAD").headers[lv.meta + "Color"] == "green"


def test_a_later_plain_value_wins_over_an_encrypted_one(lv, store):
    post(lv, pipeline(lv, store), Color="old")
    # as Swift's encryption would store it: plain, encrypted copy untouched
    store.meta[lv.meta + "Color"] = "new"
    resp = call(pipeline(lv, store), lv.path, "HEAD")
    assert resp.headers.getall(lv.meta + "Color") == ["new"]


# -------------------------------------------------------------------- removal

@pytest.mark.parametrize("encrypt", ["true", "false"])
@pytest.mark.parametrize("by_remove_header", [False, True])
def test_removal_removes_the_encrypted_copy(lv, store, encrypt, by_remove_header):
    post(lv, pipeline(lv, store), Color="blue", Keep="k")
    assert lv.crypto + "Color" in store.meta
    app = pipeline(lv, store, **{lv.option: encrypt})
    removal = {lv.remove + "Color": "x"} if by_remove_header else {lv.meta + "Color": ""}
    assert call(app, lv.path, "POST", headers=removal).status_int == 204
    assert lv.crypto + "Color" not in store.meta
    resp = call(app, lv.path, "HEAD")
    assert lv.meta + "Color" not in resp.headers
    assert resp.headers[lv.meta + "Keep"] == "k"



@pytest.mark.parametrize("set_first", [True, False])
def test_a_value_set_beside_its_own_removal_wins_as_in_swift(lv, store, set_first):
    # Swift's proxy (Controller.transfer_headers) applies X-Remove-* first,
    # then the values set: the header order must not drop the value
    app = pipeline(lv, store)
    post(lv, app, Color="red")
    pair = [(lv.meta + "Color", "blue"), (lv.remove + "Color", "x")]
    headers = dict(pair if set_first else pair[::-1])
    assert call(app, lv.path, "POST", headers=headers).status_int == 204
    assert lv.crypto + "Color" in store.meta
    assert call(app, lv.path, "HEAD").headers.get(lv.meta + "Color") == "blue"

# ----------------------------------------------------------------- option off

def test_option_off_leaves_everything_plain(lv, store):
    app = pipeline(lv, store, **{lv.option: "false"})
    call(app, lv.path, "PUT", headers={lv.meta + "Color": "blue"})
    post(lv, app, Size="big")
    assert store.meta == {lv.meta + "Color": "blue", lv.meta + "Size": "big"}
    sent = [h for _m, h in store.requests]
    assert not [n for h in sent for n in h if "Sysmeta" in n]
    assert call(app, lv.path, "HEAD").headers[lv.meta + "Color"] == "blue"


def test_default_is_off(lv, store):
    post(lv, encrypting_pipeline(store, {"encryption_root_secret": SECRET_A}), Color="blue")
    assert store.meta == {lv.meta + "Color": "blue"}


def test_the_other_levels_option_does_not_apply(lv, store):
    other = next(level for level in LEVELS if level is not lv)
    post(lv, encrypting_pipeline(store, {"encryption_root_secret": SECRET_A},
                                 **{other.option: "true"}), Color="blue")
    assert store.meta == {lv.meta + "Color": "blue"}


def test_option_off_still_decrypts_stored_values(lv, store):
    post(lv, pipeline(lv, store), Color="blue")
    resp = call(pipeline(lv, store, **{lv.option: "false"}), lv.path, "GET")
    assert resp.headers[lv.meta + "Color"] == "blue"


def test_disable_encryption_stops_encrypting(lv, store):
    post(lv, pipeline(lv, store, disable_encryption="true"), Color="blue")
    assert store.meta == {lv.meta + "Color": "blue"}


# --------------------------------------------------------------------- limits

@pytest.mark.parametrize("values, problem", [
    ({"V": "x" * (MAX_META_VALUE_LENGTH + 1)}, "Metadata value longer than"),
    ({"n" * 129: "v"}, "Metadata name too long"),
    ({"%d" % i: "v" for i in range(MAX_META_COUNT + 1)}, "Too many metadata"),
    ({"%02d" % i: "x" * 250 for i in range(MAX_META_OVERALL_SIZE // 250 + 1)},
     "Total metadata too large"),
    ({"Bad": b"\xff".decode("latin-1")}, "Metadata must be valid UTF-8"),
])
def test_limits_are_checked_on_plaintext(lv, store, values, problem):
    resp = post(lv, pipeline(lv, store), **values)
    assert resp.status_int == 400
    assert problem in resp.text
    assert store.requests == []


def test_a_value_at_the_limit_is_accepted_though_its_ciphertext_is_longer(lv, store):
    wsgi_value = w("é" * (MAX_META_VALUE_LENGTH // 2))  # 256 bytes of UTF-8
    app = pipeline(lv, store)
    assert post(lv, app, Long=wsgi_value).status_int == 204
    assert len(store.meta[lv.crypto + "Long"]) > MAX_META_VALUE_LENGTH
    assert call(app, lv.path, "HEAD").headers[lv.meta + "Long"] == wsgi_value


def _fill(lv, app, count, start=0, value="v"):
    return post(lv, app, **{"M%03d" % i: value for i in range(start, start + count)}).status_int


def test_the_accumulated_count_is_limited_as_swift_limits_it(lv, store):
    app = pipeline(lv, store)
    assert _fill(lv, app, 60) == 204
    assert _fill(lv, app, 30, start=60) == 204  # 90 in all: Swift's maximum
    resp = post(lv, app, **{"One-Too-Many": "v"})
    assert resp.status_int == 400
    assert "Too many metadata items; max %d" % MAX_META_COUNT in resp.text
    assert lv.crypto + "One-Too-Many" not in store.meta
    # replacing a value adds nothing; a removal makes room
    assert _fill(lv, app, 1, value="changed") == 204
    assert call(app, lv.path, "POST", headers={lv.remove + "M000": "x",
                                               lv.meta + "New": "v"}).status_int == 204
    assert call(app, lv.path, "HEAD").headers[lv.meta + "New"] == "v"


def test_the_accumulated_size_counts_plaintext_and_plain_values(lv, store):
    app = pipeline(lv, store, **{"plain_%s_metadata" % lv.kind: "Plain-*"})
    big = "x" * MAX_META_VALUE_LENGTH
    per_item = len("M000") + len(big)
    fits = MAX_META_OVERALL_SIZE // per_item
    assert _fill(lv, app, fits, value=big) == 204
    room = MAX_META_OVERALL_SIZE - fits * per_item
    # a plain value counts too (the backend would only count it)
    resp = post(lv, app, **{"Plain-Z": "y" * (room - len("Plain-Z") + 1)})
    assert resp.status_int == 400
    assert "Total metadata too large; max %d" % MAX_META_OVERALL_SIZE in resp.text
    assert post(lv, app, **{"Plain-Z": "y" * (room - len("Plain-Z"))}).status_int == 204


def test_the_accumulated_size_counts_characters_as_swifts_servers_do(lv, store):
    # the proxy's per-request check counts UTF-8 bytes, the servers' check
    # of the whole set characters (wsgi_to_str): 45 values of 80 "é" are
    # 3735 characters but 7335 bytes, which Swift stores
    app = pipeline(lv, store)
    value = w("\u00e9" * 80)
    assert _fill(lv, app, 24, value=value) == 204
    assert _fill(lv, app, 21, start=24, value=value) == 204
    assert len(store.meta) == 45
    assert call(app, lv.path, "HEAD").headers[lv.meta + "M044"] == value
    # and past 4096 characters it is still refused
    resp = post(lv, app, **{"Z" * 100: w("\u00e9" * 120), "Y" * 100: w("\u00e9" * 120)})
    assert resp.status_int == 400
    assert "Total metadata too large; max %d" % MAX_META_OVERALL_SIZE in resp.text


def test_the_accumulated_count_has_a_value_set_beside_its_removal(lv, store):
    app = pipeline(lv, store)
    assert _fill(lv, app, MAX_META_COUNT) == 204
    resp = call(app, lv.path, "POST", headers={lv.meta + "New": "v", lv.remove + "New": "x"})
    assert resp.status_int == 400  # Swift would store New: one too many
    assert lv.crypto + "New" not in store.meta

def test_a_new_item_has_nothing_to_accumulate(lv, store):
    def missing(environ, start_response):
        if environ["REQUEST_METHOD"] == "HEAD":
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        return store(environ, start_response)

    app = pipeline(lv, missing)
    assert call(app, lv.path, "PUT", headers={lv.meta + "A": "b"}).status_int == 204


# --------------------------------------------------------------------- errors

def _quoted(path):
    return "%22path%22%3A+%22" + path.replace("/", "%2F") + "%22"


@pytest.mark.parametrize("damage", [
    lambda v, lv: "not base64!" + v[v.index(";"):],
    lambda v, lv: v.split(";")[0],  # no swift_meta
    lambda v, lv: v.replace("%22v%22", "%22x%22"),  # broken key id
    lambda v, lv: v.replace("%22path%22", "%22secret_id%22%3A+%22gone%22%2C+%22path%22"),
    # the key id path of the other level: refused, not resolved to another key
    lambda v, lv: v.replace(_quoted(lv.key_path),
                            _quoted("/a/c" if lv.key_path == "/a" else "/a")),
])
def test_a_bad_stored_value_is_500_and_logged(lv, store, caplog, damage):
    app = pipeline(lv, store)
    post(lv, app, Color="blue")
    damaged = damage(store.meta[lv.crypto + "Color"], lv)
    assert damaged != store.meta[lv.crypto + "Color"]
    store.meta[lv.crypto + "Color"] = damaged
    for method in ("GET", "HEAD"):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            resp = call(app, lv.path, method)
        assert resp.status_int == 500
        assert "blue" not in str(resp.headers) and "Crypto" not in str(resp.headers)
        assert "error decrypting %s metadata of %s" % (lv.kind, lv.path) in caplog.text
        assert lv.crypto + "Color" in caplog.text
        assert SECRET_A not in caplog.text


def test_a_key_id_of_any_json_is_refused_not_raised_nor_borrowed(lv, store, caplog):
    """A key id that is a JSON array, or a string spelling the JSON of
    another value's (nested) key id, is refused (500 + log) as any bad key
    id: the first raised TypeError, the second got the other value's key
    unchecked (found by fuzzing, db_meta_decrypt)."""
    app = pipeline(lv, store)
    key = derivation.derive_key(b"A" * 32, lv.key_path)
    nested = {"path": lv.key_path, "v": "2", "x": []}  # extra fields are allowed
    store.meta[lv.crypto + "A"] = cryptometa.encrypt_value(b"nested", key, key_id=nested)
    assert call(app, lv.path, "HEAD").headers[lv.meta + "A"] == "nested"
    for bad in ([], json.dumps(nested, sort_keys=True)):
        # sorted after A: its key is fetched first
        store.meta[lv.crypto + "B"] = cryptometa.encrypt_value(b"secret", key, key_id=bad)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            resp = call(app, lv.path, "HEAD")
        assert resp.status_int == 500
        assert "secret" not in str(resp.headers)
        assert lv.crypto + "B" in caplog.text


def test_wrong_root_secret_is_500_not_garbage(lv, store, caplog):
    post(lv, pipeline(lv, store),
         Color="a value long enough that random bytes are not UTF-8")
    with caplog.at_level(logging.ERROR):
        resp = call(pipeline(lv, store, secret=SECRET_B), lv.path, "HEAD")
    assert resp.status_int == 500
    assert "error decrypting %s metadata of %s" % (lv.kind, lv.path) in caplog.text


@pytest.mark.parametrize("version", ["1", "2", "3"])
def test_a_value_moved_to_another_account_or_container_does_not_decrypt_there(
        lv, store, caplog, version):
    # accounts and containers are never renamed: a value whose key id names
    # another one was moved at rest (by someone who can write the DBs but
    # holds no key) and must not be shown in plaintext where it now is
    other = {"account": "/v1/thief", "container": "/v1/a/thief"}[lv.kind]
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET_A,
                                      "meta_version_to_write": version},
                              **{lv.option: "true"})
    post(lv, app, Color="blue")
    store.by_path[other] = dict(store.meta)
    with caplog.at_level(logging.ERROR):
        resp = call(app, other, "HEAD")
    assert resp.status_int == 500
    assert "blue" not in str(resp.headers)
    assert "error decrypting %s metadata of %s" % (lv.kind, other) in caplog.text
    assert call(app, lv.path, "HEAD").headers[lv.meta + "Color"] == "blue"

def test_no_keymaster_is_500(lv, store):
    app = encryption_factory({}, **{lv.option: "true"})(store)
    assert post(lv, app, A="b").status_int == 500
    assert [method for method, _headers in store.requests] in ([], ["HEAD"])  # nothing written
    # nothing to encrypt: no keys needed
    assert post(lv, app, A="").status_int == 204
