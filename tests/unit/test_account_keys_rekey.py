"""Rotation of one account's root secret, then ``swiftcrypt rekey`` (its
Rekeyer) through an account_keymaster pipeline over the embedded store,
then the old secret shredded: every object (and the container's encrypted
metadata) reads under the new secret, a second run finds nothing stale,
the other account is untouched. And the migration from the keymaster to
account_keymaster by rekey."""

import datetime

import pytest
from webob import Request

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.crypto import cryptometa

from swiftcrypt.middleware import encryption

from swiftcrypt.keymasters import config_keymaster

from swiftcrypt.rekey import run
from swiftcrypt.store.app import app_factory
from tests.unit.test_account_keys import FakeAccountKeyManager

CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p",
        "retries": "0", "cache_ttl": "0"}
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"
CONTAINER_META = "X-Container-Sysmeta-Crypto-Meta-Owner"


def call(app, method, path, body=None, headers=None, **environ):
    req = Request.blank(path, method=method, headers=headers or {}, environ=environ)
    if body is not None:
        req.body = body
    return req.get_response(app)


def secret_id(store, path):
    resp = call(store, "HEAD", path)
    return cryptometa.load(resp.headers[BODY_META])["key_id"]["secret_id"]


def container_meta_secret_id(store, path):
    resp = call(store, "HEAD", path)
    return cryptometa.extract(resp.headers[CONTAINER_META])[1]["key_id"]["secret_id"]


def test_rotate_rekey_then_shred_the_old_secret(tmp_path):
    km = FakeAccountKeyManager()
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    secrets, settings = account_keymaster.make_secrets(dict(CONN), manager=km)
    app = account_keymaster.AccountKeyMaster(encryption.filter_factory(
        {}, encrypt_container_metadata="true")(store), secrets, settings)
    names = ["o%d" % i for i in range(3)]
    for account in ("AUTH_a", "AUTH_b"):
        assert call(app, "PUT", "/v1/%s/c" % account).status_int in (201, 202)
        for name in names:
            resp = call(app, "PUT", "/v1/%s/c/%s" % (account, name), name.encode() * 10,
                        {"X-Object-Meta-Color": name})
            assert resp.status_int == 201
        # under the same (first) account secret as the objects
        assert call(app, "POST", "/v1/%s/c" % account,
                    headers={"X-Container-Meta-Owner": account}).status_int == 204
    old = secret_id(store, "/v1/AUTH_a/c/o0")
    other = secret_id(store, "/v1/AUTH_b/c/o0")

    # rotation: a newer generation becomes what AUTH_a writes with
    later = km.secrets[old][2] + datetime.timedelta(days=1)
    new = km.add("swiftcrypt-account:AUTH_a", created=later)

    assert container_meta_secret_id(store, "/v1/AUTH_a/c") == old
    counts = run.Rekeyer(app, "AUTH_a").run()
    # the objects and the container's metadata
    assert counts[run.REKEYED] == len(names) + 1 and counts[run.FAILED] == 0
    for name in names:
        assert secret_id(store, "/v1/AUTH_a/c/%s" % name) == new
        assert secret_id(store, "/v1/AUTH_b/c/%s" % name) == other
    assert container_meta_secret_id(store, "/v1/AUTH_a/c") == new
    assert container_meta_secret_id(store, "/v1/AUTH_b/c") == other
    again = run.Rekeyer(app, "AUTH_a").run()
    assert again[run.CURRENT] == len(names) + 1 and again[run.REKEYED] == 0

    km.delete_secret(old)  # keys shred --secret-id OLD
    for account in ("AUTH_a", "AUTH_b"):
        for name in names:
            resp = call(app, "GET", "/v1/%s/c/%s" % (account, name))
            assert resp.status_int == 200 and resp.body == name.encode() * 10
            assert resp.headers["X-Object-Meta-Color"] == name
        resp = call(app, "HEAD", "/v1/%s/c" % account)
        assert resp.headers["X-Container-Meta-Owner"] == account


KM_CONF = {"encryption_root_secret": "A" * 44}


def _old_objects(store, names):
    old_app = config_keymaster.filter_factory({}, **KM_CONF)(encryption.filter_factory({})(store))
    assert call(old_app, "PUT", "/v1/AUTH_a/c").status_int in (201, 202)
    for name in names:
        assert call(old_app, "PUT", "/v1/AUTH_a/c/" + name, name.encode() * 10,
                    {"X-Object-Meta-Color": name}).status_int == 201


@pytest.mark.parametrize("create", ["true", "false"])
def test_migrate_from_keymaster_to_account_keymaster(tmp_path, create):
    """doc/account-secrets.md "Moving to account_keymaster": the old
    keymaster kept before account_keymaster, the account has no secret
    yet; rekey makes it one and moves every object to it (with creation
    off: it stops, one line, nothing re-keyed), then the old keymaster can
    go."""
    km = FakeAccountKeyManager()
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    names = ["o%d" % i for i in range(3)]
    _old_objects(store, names)
    secrets, settings = account_keymaster.make_secrets(
        dict(CONN, create_account_secrets=create), manager=km)
    new_app = account_keymaster.AccountKeyMaster(encryption.filter_factory({})(store), secrets,
                                                 settings)
    app = config_keymaster.filter_factory({}, **KM_CONF)(new_app)
    if create == "false":
        with pytest.raises(run.StopRun) as err:
            run.Rekeyer(app, "AUTH_a").run()
        assert "no root secret" in str(err.value) and "\n" not in str(err.value)
        assert not km.secrets
        return
    counts = run.Rekeyer(app, "AUTH_a").run()
    assert counts[run.REKEYED] == len(names) and counts[run.FAILED] == 0
    (new,) = km.secrets
    assert km.secrets[new][0] == "swiftcrypt-account:AUTH_a"
    for name in names:
        assert secret_id(store, "/v1/AUTH_a/c/" + name) == new
    # the old keymaster removed: everything still reads
    for name in names:
        resp = call(new_app, "GET", "/v1/AUTH_a/c/" + name)
        assert resp.status_int == 200 and resp.body == name.encode() * 10
        assert resp.headers["X-Object-Meta-Color"] == name
    assert run.Rekeyer(new_app, "AUTH_a").run()[run.CURRENT] == len(names)


def test_rekey_without_a_fallback_and_no_secret_stops_with_one_line(tmp_path):
    km = FakeAccountKeyManager()
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    _old_objects(store, ["o"])

    class ReadKeysOnly:  # a keymaster giving no id (a read's keys): never write with it
        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            environ[run.KEYS_CALLBACK] = lambda key_id=None, **kw: {"all_ids": []}
            return self.app(environ, start_response)

    with pytest.raises(run.StopRun) as err:
        run.Rekeyer(ReadKeysOnly(store), "AUTH_a").run()
    assert "no key id to write with" in str(err.value)
    assert not km.secrets
