"""Encrypted container user metadata (encrypt_container_metadata): the
encryption filter in-process over a backend that keeps container metadata
as Swift's container server does."""

import base64
import json
import logging

import pytest

from swiftcrypt import dbmeta
from swiftcrypt.constraints import MAX_META_COUNT, MAX_META_OVERALL_SIZE, MAX_META_VALUE_LENGTH
from swiftcrypt.encryption import filter_factory as encryption_factory
from swiftcrypt.errors import ConfigError
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline

SECRET_A = base64.b64encode(b"A" * 32).decode()
SECRET_B = base64.b64encode(b"B" * 32).decode()
CONTAINER = "/v1/a/c"
CRYPTO = "X-Container-Sysmeta-Crypto-Meta-"


@pytest.fixture
def store():
    return DbStore("container", CONTAINER)


def pipeline(store, secret=SECRET_A, **encryption_conf):
    encryption_conf.setdefault("encrypt_container_metadata", "true")
    return encrypting_pipeline(store, {"encryption_root_secret": secret}, **encryption_conf)


def w(text):
    """Real text as the WSGI string headers carry."""
    return text.encode("utf-8").decode("latin-1")


def stored_plaintext(store, value):
    return [n for n, v in store.meta.items() if value in v]


# ---------------------------------------------------------------- round trips

def test_put_and_post_encrypt_and_get_head_decrypt(store):
    app = pipeline(store)
    assert call(app, CONTAINER, "PUT", headers={"X-Container-Meta-Color": "blue"}).status_int == 204
    assert call(app, CONTAINER, "POST", headers={
        "X-Container-Meta-Owner": w("Zoë Sécret")}).status_int == 204
    assert "X-Container-Meta-Color" not in store.meta
    assert stored_plaintext(store, "blue") == []
    value = store.meta[CRYPTO + "Color"]
    assert "; swift_meta=" in value and "key_id" in value
    for method in ("GET", "HEAD"):
        resp = call(app, CONTAINER, method)
        assert resp.status_int == 200
        assert resp.headers["X-Container-Meta-Color"] == "blue"
        assert resp.headers["X-Container-Meta-Owner"] == w("Zoë Sécret")
        assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    # listing body still served (and its etags still go through)
    assert json.loads(call(app, CONTAINER).body)[0]["name"] == "o"


def test_each_value_has_its_own_iv_and_key_id(store):
    app = pipeline(store)
    call(app, CONTAINER, "POST",
         headers={"X-Container-Meta-A": "same", "X-Container-Meta-B": "same"})
    a, b = store.meta[CRYPTO + "A"], store.meta[CRYPTO + "B"]
    assert a.split(";")[0] != b.split(";")[0]
    _ct, meta = dbmeta.cryptometa.extract(a)
    assert meta["key_id"] == {"v": "2", "path": "/a/c"}


def test_values_written_under_an_older_secret_still_read(store):
    old = pipeline(store, encryption_root_secret_old=SECRET_B, secret=SECRET_A)
    call(old, CONTAINER, "POST", headers={"X-Container-Meta-A": "first"})
    # rotate: the old secret stays for reads, a new one writes
    keymaster = {"encryption_root_secret": SECRET_A, "encryption_root_secret_new": SECRET_B,
                 "active_root_secret_id": "new"}
    new = encrypting_pipeline(store, keymaster, encrypt_container_metadata="true")
    call(new, CONTAINER, "POST", headers={"X-Container-Meta-B": "second"})
    assert "secret_id" in store.meta[CRYPTO + "B"]
    resp = call(new, CONTAINER, "HEAD")
    assert (resp.headers["X-Container-Meta-A"], resp.headers["X-Container-Meta-B"]) == (
        "first", "second")


def test_encrypting_a_name_clears_its_old_plain_copy(store):
    call(pipeline(store, encrypt_container_metadata="false"), CONTAINER, "POST",
         headers={"X-Container-Meta-Color": "red"})
    assert store.meta["X-Container-Meta-Color"] == "red"
    app = pipeline(store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Color": "green"})
    assert "X-Container-Meta-Color" not in store.meta
    assert call(app, CONTAINER, "HEAD").headers["X-Container-Meta-Color"] == "green"


def test_a_later_plain_value_wins_over_an_encrypted_one(store):
    call(pipeline(store), CONTAINER, "POST", headers={"X-Container-Meta-Color": "old"})
    # as Swift's encryption would store it: plain, encrypted copy untouched
    store.meta["X-Container-Meta-Color"] = "new"
    resp = call(pipeline(store), CONTAINER, "HEAD")
    assert resp.headers.getall("X-Container-Meta-Color") == ["new"]


# -------------------------------------------------------------------- removal

@pytest.mark.parametrize("encrypt", ["true", "false"])
@pytest.mark.parametrize("removal", [
    {"X-Container-Meta-Color": ""}, {"X-Remove-Container-Meta-Color": "x"}])
def test_removal_removes_the_encrypted_copy(store, encrypt, removal):
    call(pipeline(store), CONTAINER, "POST", headers={"X-Container-Meta-Color": "blue",
                                                      "X-Container-Meta-Keep": "k"})
    assert CRYPTO + "Color" in store.meta
    app = pipeline(store, encrypt_container_metadata=encrypt)
    assert call(app, CONTAINER, "POST", headers=removal).status_int == 204
    assert CRYPTO + "Color" not in store.meta
    resp = call(app, CONTAINER, "HEAD")
    assert "X-Container-Meta-Color" not in resp.headers
    assert resp.headers["X-Container-Meta-Keep"] == "k"


# ----------------------------------------------------------------- exclusions

@pytest.mark.parametrize("name", [
    "Temp-Url-Key", "Temp-Url-Key-2", "Quota-Bytes", "Quota-Count", "Web-Index", "Web-Error",
    "Web-Listings", "Web-Listings-Css", "Web-Listings-Label", "Web-Directory-Type",
    "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Access-Control-Max-Age"])
def test_operational_metadata_stays_plain(store, name):
    app = pipeline(store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-" + name: "10"})
    assert store.meta["X-Container-Meta-" + name] == "10"
    assert CRYPTO + name not in store.meta
    assert call(app, CONTAINER, "HEAD").headers["X-Container-Meta-" + name] == "10"


def test_default_plain_names_are_what_swift_reads():
    names = dbmeta.PlainNames()
    for name in ("temp-url-key", "TEMP-URL-KEY-2", "quota-bytes", "quota-count", "web-index",
                 "web-listings-label", "access-control-allow-origin", "access-control-max-age"):
        assert name in names
    for name in ("color", "temp-url-key-3", "quota", "webindex", "access-control"):
        assert name not in names


def test_plain_container_metadata_adds_names(store):
    app = pipeline(store, plain_container_metadata="Owner, build-*")
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Owner": "me",
                                          "X-Container-Meta-Build-Id": "7",
                                          "X-Container-Meta-Secret": "s3cr3t-value"})
    assert store.meta["X-Container-Meta-Owner"] == "me"
    assert store.meta["X-Container-Meta-Build-Id"] == "7"
    assert "X-Container-Meta-Secret" not in store.meta
    assert "temp-url-key" in dbmeta.PlainNames.from_option("owner")


@pytest.mark.parametrize("conf", [
    {"plain_container_metadata": "a*b"}, {"plain_container_metadata": "*"},
    {"encrypt_container_metadata": "maybe"}])
def test_bad_options_fail_at_start_up(conf):
    with pytest.raises(ConfigError):
        encryption_factory({}, **conf)


# ----------------------------------------------------------------- option off

def test_option_off_leaves_everything_plain(store):
    app = pipeline(store, encrypt_container_metadata="false")
    call(app, CONTAINER, "PUT", headers={"X-Container-Meta-Color": "blue"})
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Size": "big"})
    assert store.meta == {"X-Container-Meta-Color": "blue", "X-Container-Meta-Size": "big"}
    sent = [h for _m, h in store.requests]
    assert not [n for h in sent for n in h if "Sysmeta" in n]
    resp = call(app, CONTAINER, "HEAD")
    assert resp.headers["X-Container-Meta-Color"] == "blue"


def test_default_is_off(store):
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET_A})
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Color": "blue"})
    assert store.meta == {"X-Container-Meta-Color": "blue"}


def test_option_off_still_decrypts_stored_values(store):
    call(pipeline(store), CONTAINER, "POST", headers={"X-Container-Meta-Color": "blue"})
    resp = call(pipeline(store, encrypt_container_metadata="false"), CONTAINER, "GET")
    assert resp.headers["X-Container-Meta-Color"] == "blue"


def test_disable_encryption_stops_encrypting_container_metadata(store):
    app = pipeline(store, disable_encryption="true")
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Color": "blue"})
    assert store.meta == {"X-Container-Meta-Color": "blue"}


def test_account_metadata_untouched(store):
    app = pipeline(store)
    call(app, "/v1/a", "POST", headers={"X-Account-Meta-Color": "blue"})
    assert store.requests[-1][1]["X-Account-Meta-Color"] == "blue"


# --------------------------------------------------------------------- limits

@pytest.mark.parametrize("headers, problem", [
    ({"X-Container-Meta-V": "x" * (MAX_META_VALUE_LENGTH + 1)}, "Metadata value longer than"),
    ({"X-Container-Meta-" + "n" * 129: "v"}, "Metadata name too long"),
    ({"X-Container-Meta-%d" % i: "v" for i in range(MAX_META_COUNT + 1)}, "Too many metadata"),
    ({"X-Container-Meta-%02d" % i: "x" * 250 for i in range(MAX_META_OVERALL_SIZE // 250 + 1)},
     "Total metadata too large"),
    ({"X-Container-Meta-Bad": b"\xff".decode("latin-1")}, "Metadata must be valid UTF-8"),
])
def test_limits_are_checked_on_plaintext(store, headers, problem):
    resp = call(pipeline(store), CONTAINER, "POST", headers=headers)
    assert resp.status_int == 400
    assert problem in resp.text
    assert store.requests == []


def test_a_value_at_the_limit_is_accepted_though_its_ciphertext_is_longer(store):
    value = "é" * (MAX_META_VALUE_LENGTH // 2)  # 256 bytes of UTF-8
    app = pipeline(store)
    wsgi_value = value.encode("utf-8").decode("latin-1")
    assert call(app, CONTAINER, "POST", headers={"X-Container-Meta-Long": wsgi_value}
                ).status_int == 204
    assert len(store.meta[CRYPTO + "Long"]) > MAX_META_VALUE_LENGTH
    got = call(app, CONTAINER, "HEAD").headers["X-Container-Meta-Long"]
    assert got == wsgi_value


def _fill(app, count, start=0, value="v"):
    headers = {"X-Container-Meta-M%03d" % i: value for i in range(start, start + count)}
    return call(app, CONTAINER, "POST", headers=headers).status_int


def test_the_accumulated_count_is_limited_as_swift_limits_it(store):
    app = pipeline(store)
    assert _fill(app, 60) == 204
    assert _fill(app, 30, start=60) == 204  # 90 in all: Swift's maximum
    resp = call(app, CONTAINER, "POST", headers={"X-Container-Meta-One-Too-Many": "v"})
    assert resp.status_int == 400
    assert "Too many metadata items; max %d" % MAX_META_COUNT in resp.text
    assert CRYPTO + "One-Too-Many" not in store.meta
    # replacing a value adds nothing; a removal makes room
    assert _fill(app, 1, value="changed") == 204
    assert call(app, CONTAINER, "POST", headers={"X-Remove-Container-Meta-M000": "x",
                                                 "X-Container-Meta-New": "v"}).status_int == 204
    assert call(app, CONTAINER, "HEAD").headers["X-Container-Meta-New"] == "v"


def test_the_accumulated_size_counts_plaintext_and_plain_values(store):
    app = pipeline(store, plain_container_metadata="Plain-*")
    big = "x" * MAX_META_VALUE_LENGTH
    per_item = len("M000") + len(big)
    fits = MAX_META_OVERALL_SIZE // per_item
    assert _fill(app, fits, value=big) == 204
    room = MAX_META_OVERALL_SIZE - fits * per_item
    # a plain value counts too (the container server would only count it)
    resp = call(app, CONTAINER, "POST",
                headers={"X-Container-Meta-Plain-Z": "y" * (room - len("Plain-Z") + 1)})
    assert resp.status_int == 400
    assert "Total metadata too large; max %d" % MAX_META_OVERALL_SIZE in resp.text
    resp = call(app, CONTAINER, "POST",
                headers={"X-Container-Meta-Plain-Z": "y" * (room - len("Plain-Z"))})
    assert resp.status_int == 204


def test_a_new_container_has_nothing_to_accumulate(store):
    class Missing:
        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            if environ["REQUEST_METHOD"] == "HEAD":
                start_response("404 Not Found", [("Content-Length", "0")])
                return [b""]
            return self.app(environ, start_response)

    app = pipeline(Missing(store))
    assert call(app, CONTAINER, "PUT", headers={"X-Container-Meta-A": "b"}).status_int == 204


# --------------------------------------------------------------------- errors

@pytest.mark.parametrize("damage", [
    lambda v: "not base64!" + v[v.index(";"):],
    lambda v: v.split(";")[0],  # no swift_meta
    lambda v: v.replace("%22v%22", "%22x%22"),  # broken key id
    lambda v: v.replace("%22path%22", "%22secret_id%22%3A+%22gone%22%2C+%22path%22"),
])
def test_a_bad_stored_value_is_500_and_logged(store, caplog, damage):
    app = pipeline(store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Color": "blue"})
    store.meta[CRYPTO + "Color"] = damage(store.meta[CRYPTO + "Color"])
    for method in ("GET", "HEAD"):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            resp = call(app, CONTAINER, method)
        assert resp.status_int == 500
        assert "blue" not in str(resp.headers)
        assert "/v1/a/c" in caplog.text and CRYPTO + "Color" in caplog.text
        assert SECRET_A not in caplog.text


def test_wrong_root_secret_is_500_not_garbage(store, caplog):
    call(pipeline(store), CONTAINER, "POST", headers={
        "X-Container-Meta-Color": "a value long enough that random bytes are not UTF-8"})
    with caplog.at_level(logging.ERROR):
        resp = call(pipeline(store, secret=SECRET_B), CONTAINER, "HEAD")
    assert resp.status_int == 500
    assert "error decrypting container metadata of /v1/a/c" in caplog.text


def test_no_keymaster_is_500(store):
    app = encryption_factory({}, encrypt_container_metadata="true")(store)
    assert call(app, CONTAINER, "POST", headers={"X-Container-Meta-A": "b"}).status_int == 500
    assert [method for method, _headers in store.requests] in ([], ["HEAD"])  # nothing written
    # nothing to encrypt: no keys needed
    assert call(app, CONTAINER, "POST", headers={"X-Container-Meta-A": ""}).status_int == 204


# ----------------------------------------------------------------------- CORS

def test_decrypted_names_are_exposed_to_cors_clients(store):
    app = pipeline(store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Secret": "s"})
    resp = call(app, CONTAINER, "GET", headers={"Origin": "http://x"})
    exposed = resp.headers["Access-Control-Expose-Headers"]
    assert "x-container-meta-secret" in exposed and "etag" in exposed
    resp = call(app, CONTAINER, "GET")
    assert "Access-Control-Expose-Headers" not in resp.headers
