"""Encrypted account user metadata (encrypt_account_metadata): the
encryption filter in-process over a backend that keeps account metadata as
Swift's account server does; the keymaster's account key; what happens
without one (Swift's keymaster); account_keymaster and crypto-shredding."""

import base64
import json
import logging

import pytest
from swift.common.middleware.crypto import keymaster as swift_keymaster

from swiftcrypt import account_keymaster, cryptometa, dbmeta, keyderivation
from swiftcrypt.constraints import MAX_META_COUNT, MAX_META_VALUE_LENGTH
from swiftcrypt.encryption import filter_factory as encryption_factory
from swiftcrypt.errors import ConfigError
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline
from tests.unit.test_account_keys import FakeAccountKeyManager

SECRET_A = base64.b64encode(b"A" * 32).decode()
SECRET_B = base64.b64encode(b"B" * 32).decode()
ACCOUNT = "/v1/a"
CRYPTO = "X-Account-Sysmeta-Crypto-Meta-"


@pytest.fixture
def store():
    return DbStore("account", ACCOUNT)


def pipeline(store, secret=SECRET_A, **encryption_conf):
    encryption_conf.setdefault("encrypt_account_metadata", "true")
    return encrypting_pipeline(store, {"encryption_root_secret": secret}, **encryption_conf)


def w(text):
    """Real text as the WSGI string headers carry."""
    return text.encode("utf-8").decode("latin-1")


def stored_plaintext(store, value):
    return [n for n, v in store.meta.items() if value in v]


# ---------------------------------------------------------------- round trips

def test_put_and_post_encrypt_and_get_head_decrypt(store):
    app = pipeline(store)
    assert call(app, ACCOUNT, "PUT", headers={"X-Account-Meta-Color": "blue"}).status_int == 204
    assert call(app, ACCOUNT, "POST", headers={
        "X-Account-Meta-Owner": w("Zoë Sécret")}).status_int == 204
    assert "X-Account-Meta-Color" not in store.meta
    assert stored_plaintext(store, "blue") == []
    for method in ("GET", "HEAD"):
        resp = call(app, ACCOUNT, method)
        assert resp.status_int == 200
        assert resp.headers["X-Account-Meta-Color"] == "blue"
        assert resp.headers["X-Account-Meta-Owner"] == w("Zoë Sécret")
        assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    assert json.loads(call(app, ACCOUNT).body)[0]["name"] == "c"  # listing body untouched


def test_the_account_key_and_its_key_id(store):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    ciphertext, meta = cryptometa.extract(store.meta[CRYPTO + "Color"])
    assert meta["key_id"] == {"v": "2", "path": "/a"}
    key = keyderivation.derive_key(b"A" * 32, "/a")
    assert cryptometa.decrypt_value(ciphertext, key, meta) == b"blue"


def test_values_written_under_an_older_secret_still_read(store):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-A": "first"})
    keymaster = {"encryption_root_secret": SECRET_A, "encryption_root_secret_new": SECRET_B,
                 "active_root_secret_id": "new"}
    new = encrypting_pipeline(store, keymaster, encrypt_account_metadata="true")
    call(new, ACCOUNT, "POST", headers={"X-Account-Meta-B": "second"})
    assert cryptometa.extract(store.meta[CRYPTO + "B"])[1]["key_id"] == {
        "v": "2", "path": "/a", "secret_id": "new"}
    resp = call(new, ACCOUNT, "HEAD")
    assert (resp.headers["X-Account-Meta-A"], resp.headers["X-Account-Meta-B"]) == (
        "first", "second")


def test_container_metadata_is_not_affected(store):
    containers = DbStore("container", "/v1/a/c")
    app = pipeline(containers)
    call(app, "/v1/a/c", "POST", headers={"X-Container-Meta-Color": "blue"})
    assert containers.meta == {"X-Container-Meta-Color": "blue"}
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET_A},
                              encrypt_container_metadata="true")
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    assert store.meta == {"X-Account-Meta-Color": "blue"}


# -------------------------------------------------------------------- removal

@pytest.mark.parametrize("encrypt", ["true", "false"])
@pytest.mark.parametrize("removal", [
    {"X-Account-Meta-Color": ""}, {"X-Remove-Account-Meta-Color": "x"}])
def test_removal_removes_the_encrypted_copy(store, encrypt, removal):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue",
                                                    "X-Account-Meta-Keep": "k"})
    assert CRYPTO + "Color" in store.meta
    app = pipeline(store, encrypt_account_metadata=encrypt)
    assert call(app, ACCOUNT, "POST", headers=removal).status_int == 204
    assert CRYPTO + "Color" not in store.meta
    resp = call(app, ACCOUNT, "HEAD")
    assert "X-Account-Meta-Color" not in resp.headers
    assert resp.headers["X-Account-Meta-Keep"] == "k"


# ----------------------------------------------------------------- plain names

@pytest.mark.parametrize("name", ["Temp-Url-Key", "Temp-Url-Key-2", "Quota-Bytes"])
def test_what_swift_reads_from_account_info_stays_plain(store, name):
    app = pipeline(store)
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-" + name: "10"})
    assert store.meta["X-Account-Meta-" + name] == "10"
    assert CRYPTO + name not in store.meta
    assert call(app, ACCOUNT, "HEAD").headers["X-Account-Meta-" + name] == "10"


def test_default_account_plain_names():
    names = dbmeta.ACCOUNT.plain_names()
    for name in ("temp-url-key", "TEMP-URL-KEY-2", "quota-bytes"):
        assert name in names
    # container-only names are encrypted at the account level
    for name in ("quota-count", "web-index", "access-control-allow-origin", "color"):
        assert name not in names


def test_plain_account_metadata_adds_names(store):
    app = pipeline(store, plain_account_metadata="Owner, build-*",
                   plain_container_metadata="Secret")
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Owner": "me",
                                        "X-Account-Meta-Build-Id": "7",
                                        "X-Account-Meta-Secret": "s3cr3t-value"})
    assert store.meta["X-Account-Meta-Owner"] == "me"
    assert store.meta["X-Account-Meta-Build-Id"] == "7"
    assert "X-Account-Meta-Secret" not in store.meta  # the container option does not apply


@pytest.mark.parametrize("conf, option", [
    ({"plain_account_metadata": "a*b"}, "plain_account_metadata"),
    ({"plain_account_metadata": "*"}, "plain_account_metadata"),
    ({"encrypt_account_metadata": "maybe"}, "encrypt_account_metadata")])
def test_bad_options_fail_at_start_up_naming_the_option(conf, option):
    with pytest.raises(ConfigError) as err:
        encryption_factory({}, **conf)
    assert err.value.option == option and "\n" not in str(err.value)


# ----------------------------------------------------------------- option off

def test_default_is_off(store):
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET_A})
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    assert store.meta == {"X-Account-Meta-Color": "blue"}


def test_option_off_still_decrypts_stored_values(store):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    resp = call(pipeline(store, encrypt_account_metadata="false"), ACCOUNT, "GET")
    assert resp.headers["X-Account-Meta-Color"] == "blue"


def test_disable_encryption_stops_encrypting_account_metadata(store):
    app = pipeline(store, disable_encryption="true")
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    assert store.meta == {"X-Account-Meta-Color": "blue"}


# --------------------------------------------------------------------- limits

def test_limits_are_checked_on_plaintext(store):
    app = pipeline(store)
    resp = call(app, ACCOUNT, "POST",
                headers={"X-Account-Meta-V": "x" * (MAX_META_VALUE_LENGTH + 1)})
    assert resp.status_int == 400 and "Metadata value longer than" in resp.text
    resp = call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Bad": "\xff"})
    assert resp.status_int == 400 and "Metadata must be valid UTF-8" in resp.text
    assert store.requests == []
    assert call(app, ACCOUNT, "POST", headers={
        "X-Account-Meta-V": "x" * MAX_META_VALUE_LENGTH}).status_int == 204


def test_the_accumulated_count_is_limited_as_swift_limits_it(store):
    app = pipeline(store)
    headers = {"X-Account-Meta-M%03d" % i: "v" for i in range(MAX_META_COUNT)}
    assert call(app, ACCOUNT, "POST", headers=headers).status_int == 204
    resp = call(app, ACCOUNT, "POST", headers={"X-Account-Meta-One-Too-Many": "v"})
    assert resp.status_int == 400
    assert "Too many metadata items; max %d" % MAX_META_COUNT in resp.text
    assert CRYPTO + "One-Too-Many" not in store.meta
    assert call(app, ACCOUNT, "POST", headers={"X-Remove-Account-Meta-M000": "x",
                                               "X-Account-Meta-New": "v"}).status_int == 204
    assert call(app, ACCOUNT, "HEAD").headers["X-Account-Meta-New"] == "v"


# --------------------------------------------------------------------- errors

@pytest.mark.parametrize("damage", [
    lambda v: "not base64!" + v[v.index(";"):],
    lambda v: v.split(";")[0],
    lambda v: v.replace("%22path%22%3A+%22%2Fa%22", "%22path%22%3A+%22%2Fa%2Fc%22"),
    lambda v: v.replace("%22path%22", "%22secret_id%22%3A+%22gone%22%2C+%22path%22"),
])
def test_a_bad_stored_value_is_500_and_logged(store, caplog, damage):
    app = pipeline(store)
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    damaged = damage(store.meta[CRYPTO + "Color"])
    assert damaged != store.meta[CRYPTO + "Color"]
    store.meta[CRYPTO + "Color"] = damaged
    for method in ("GET", "HEAD"):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            resp = call(app, ACCOUNT, method)
        assert resp.status_int == 500
        assert "blue" not in str(resp.headers) and "Crypto" not in str(resp.headers)
        assert "error decrypting account metadata of /v1/a" in caplog.text
        assert CRYPTO + "Color" in caplog.text
        assert SECRET_A not in caplog.text


def test_wrong_root_secret_is_500_not_garbage(store, caplog):
    call(pipeline(store), ACCOUNT, "POST", headers={
        "X-Account-Meta-Color": "a value long enough that random bytes are not UTF-8"})
    with caplog.at_level(logging.ERROR):
        resp = call(pipeline(store, secret=SECRET_B), ACCOUNT, "HEAD")
    assert resp.status_int == 500
    assert "error decrypting account metadata of /v1/a" in caplog.text


# ------------------------------------------------- a keymaster without account keys

def swift_keymaster_pipeline(store):
    encryption = encryption_factory({}, encrypt_account_metadata="true")(store)
    return swift_keymaster.filter_factory({}, encryption_root_secret=SECRET_A)(encryption)


@pytest.mark.parametrize("make", [
    swift_keymaster_pipeline,
    lambda store: encryption_factory({}, encrypt_account_metadata="true")(store)])
def test_without_an_account_key_a_value_to_encrypt_is_refused(store, caplog, make):
    app = make(store)
    with caplog.at_level(logging.ERROR):
        resp = call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    assert resp.status_int == 500
    assert "encrypt_account_metadata needs swiftcrypt's keymaster" in caplog.text
    assert "POST" not in [method for method, _headers in store.requests]  # nothing written
    # what needs no key still works: names kept plain, removals
    assert call(app, ACCOUNT, "POST", headers={"X-Account-Meta-Temp-Url-Key": "k",
                                               "X-Remove-Account-Meta-Old": "x"}
                ).status_int == 204
    assert store.meta == {"X-Account-Meta-Temp-Url-Key": "k"}


def test_without_an_account_key_stored_values_are_500_not_ciphertext(store, caplog):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    with caplog.at_level(logging.ERROR):
        resp = call(swift_keymaster_pipeline(store), ACCOUNT, "HEAD")
    assert resp.status_int == 500
    assert "X-Account-Meta-Color" not in resp.headers
    assert "encryption keys unavailable for /v1/a" in caplog.text


# ------------------------------------------------------------ account_keymaster

CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p",
        "retries": "0", "cache_ttl": "0"}


def account_keymaster_pipeline(km, store, **conf):
    secrets, settings = account_keymaster.make_secrets(dict(CONN, **conf), manager=km)
    encryption = encryption_factory({}, encrypt_account_metadata="true")(store)
    return account_keymaster.AccountKeyMaster(encryption, secrets, settings)


def test_account_keymaster_uses_the_accounts_own_secret_and_shred_makes_it_410(caplog):
    km = FakeAccountKeyManager()
    store = DbStore("account", "/v1/AUTH_a")
    app = account_keymaster_pipeline(km, store)
    for account in ("AUTH_a", "AUTH_b"):
        assert call(app, "/v1/" + account, "POST", headers={
            "X-Account-Meta-Color": "blue-" + account}).status_int == 204
    ids = {}
    for account in ("AUTH_a", "AUTH_b"):
        _ct, meta = cryptometa.extract(store.by_path["/v1/" + account][CRYPTO + "Color"])
        ids[account] = meta["key_id"]["secret_id"]
        assert meta["key_id"] == {"v": "2", "path": "/" + account, "secret_id": ids[account]}
        assert km.secrets[ids[account]][0] == "swiftcrypt-account:" + account
        assert call(app, "/v1/" + account, "HEAD").headers["X-Account-Meta-Color"] == \
            "blue-" + account
    km.delete_secret(ids["AUTH_a"])
    with caplog.at_level(logging.WARNING):
        for method in ("GET", "HEAD"):
            resp = call(app, "/v1/AUTH_a", method)
            assert resp.status_int == 410, resp.status
            assert "blue" not in str(resp.headers)
    assert "AUTH_a" in caplog.text
    assert call(app, "/v1/AUTH_b", "HEAD").headers["X-Account-Meta-Color"] == "blue-AUTH_b"


def test_account_keymaster_without_creation_refuses_what_it_cannot_encrypt():
    km = FakeAccountKeyManager()
    store = DbStore("account", "/v1/AUTH_new")
    app = account_keymaster_pipeline(km, store, create_account_secrets="false")
    resp = call(app, "/v1/AUTH_new", "POST", headers={"X-Account-Meta-Color": "blue"})
    assert resp.status_int == 403
    assert store.meta == {} and km.secrets == {}
    # an account POST that needs no key makes no secret and is not refused
    assert call(app, "/v1/AUTH_new", "POST", headers={
        "X-Account-Meta-Temp-Url-Key": "k"}).status_int == 204
    assert km.secrets == {}
