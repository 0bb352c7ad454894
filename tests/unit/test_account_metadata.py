"""Encrypted account user metadata (encrypt_account_metadata): what is
account-only - the account key and its key id, the names kept plain, the
options, what happens without an account key (Swift's keymaster),
account_keymaster and crypto-shredding. What containers share is in
test_db_metadata.py."""

import logging

import pytest
from swift.common.middleware.crypto import keymaster as swift_keymaster

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.keymasters import account_secrets

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import account_container_metadata as acmeta

from swiftcrypt.crypto import derivation
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.common.errors import ConfigError
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline
from tests.unit.test_account_keys import FakeAccountKeyManager
from tests.unit.test_db_metadata import LEVELS, SECRET_A
from tests.unit.test_db_metadata import pipeline as level_pipeline

LEVEL = LEVELS[1]
ACCOUNT = LEVEL.path
CRYPTO = LEVEL.crypto
assert LEVEL.kind == "account"


@pytest.fixture
def store():
    return DbStore("account", ACCOUNT)


def pipeline(store, **encryption_conf):
    return level_pipeline(LEVEL, store, **encryption_conf)


def test_the_account_key_and_its_key_id(store):
    call(pipeline(store), ACCOUNT, "POST", headers={"X-Account-Meta-Color": "blue"})
    ciphertext, meta = cryptometa.extract(store.meta[CRYPTO + "Color"])
    assert meta["key_id"] == {"v": "2", "path": "/a"}
    key = derivation.derive_key(b"A" * 32, "/a")
    assert cryptometa.decrypt_value(ciphertext, key, meta) == b"blue"


@pytest.mark.parametrize("version", ["2", "3"])
def test_a_value_copied_to_another_account_does_not_decrypt_there(caplog, version):
    # no account is ever renamed: a key id naming another account is a
    # value moved at rest (e.g. by someone who can write the account DBs
    # but holds no key), which must not give that account's plaintext
    store = DbStore("account", "/v1/victim")
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET_A,
                                      "meta_version_to_write": version},
                              encrypt_account_metadata="true")
    call(app, "/v1/victim", "POST", headers={"X-Account-Meta-Color": "blue"})
    store.by_path["/v1/thief"] = dict(store.meta)
    with caplog.at_level(logging.ERROR):
        resp = call(app, "/v1/thief", "HEAD")
    assert resp.status_int == 500
    assert "blue" not in str(resp.headers)
    assert "error decrypting account metadata of /v1/thief" in caplog.text
    assert call(app, "/v1/victim", "HEAD").headers["X-Account-Meta-Color"] == "blue"


# ----------------------------------------------------------------- plain names

@pytest.mark.parametrize("name", ["Temp-Url-Key", "Temp-Url-Key-2", "Quota-Bytes"])
def test_what_swift_reads_from_account_info_stays_plain(store, name):
    app = pipeline(store)
    call(app, ACCOUNT, "POST", headers={"X-Account-Meta-" + name: "10"})
    assert store.meta["X-Account-Meta-" + name] == "10"
    assert CRYPTO + name not in store.meta
    assert call(app, ACCOUNT, "HEAD").headers["X-Account-Meta-" + name] == "10"


def test_default_account_plain_names():
    names = acmeta.ACCOUNT.plain_names()
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


def test_account_keymaster_without_creation_refuses_what_it_cannot_encrypt(caplog):
    km = FakeAccountKeyManager()
    store = DbStore("account", "/v1/AUTH_new")
    app = account_keymaster_pipeline(km, store, create_account_secrets="false")
    with caplog.at_level(logging.WARNING):
        resp = call(app, "/v1/AUTH_new", "POST", headers={"X-Account-Meta-Color": "blue"})
    assert resp.status_int == 403
    assert "has no root secret" in caplog.text
    assert "needs swiftcrypt's keymaster" not in caplog.text  # that keymaster is one
    assert store.meta == {} and km.secrets == {}
    # an account POST that needs no key makes no secret and is not refused
    assert call(app, "/v1/AUTH_new", "POST", headers={
        "X-Account-Meta-Temp-Url-Key": "k"}).status_int == 204
    assert km.secrets == {}


@pytest.mark.parametrize("path, header", [("/v1/AUTH_a", "X-Account-Meta-Color"),
                                          ("/v1/AUTH_a/c", "X-Container-Meta-Color")])
def test_account_keymaster_write_whose_active_secret_is_gone_is_410_not_a_traceback(
        caplog, monkeypatch, path, header):
    # the account's listing (cached) still names a secret that a shred
    # removed: as for an object write, the answer is the transient 410
    km = FakeAccountKeyManager()
    km.add("swiftcrypt-account:AUTH_a")
    store = DbStore("account", "/v1/AUTH_a")
    secrets, settings = account_keymaster.make_secrets(dict(CONN), manager=km)
    encryption = encryption_factory({}, encrypt_account_metadata="true",
                                    encrypt_container_metadata="true")(store)
    app = account_keymaster.AccountKeyMaster(encryption, secrets, settings)

    def gone(self, account, secret_id):
        raise account_secrets.SecretGone(account, secret_id, "no longer exists")

    monkeypatch.setattr(account_secrets.AccountSecrets, "secret", gone)
    with caplog.at_level(logging.WARNING):
        resp = call(app, path, "POST", headers={header: "blue"})
    assert resp.status_int == 410
    assert "no longer exists" in caplog.text
    assert store.requests == [] or all(m == "HEAD" for m, _h in store.requests)
