"""Rotation of one account's root secret, then ``swiftcrypt rekey`` (its
Rekeyer) through an account_keymaster pipeline over the embedded store,
then the old secret shredded: every object reads under the new secret, a
second run finds nothing stale, the other account is untouched."""

import datetime

from webob import Request

from swiftcrypt import account_keymaster, cryptometa, encryption, rekeyrun
from swiftcrypt.store.app import app_factory
from tests.unit.test_account_keys import FakeAccountKeyManager

CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p",
        "retries": "0", "cache_ttl": "0"}
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"


def call(app, method, path, body=None, headers=None, **environ):
    req = Request.blank(path, method=method, headers=headers or {}, environ=environ)
    if body is not None:
        req.body = body
    return req.get_response(app)


def secret_id(store, path):
    resp = call(store, "HEAD", path)
    return cryptometa.load(resp.headers[BODY_META])["key_id"]["secret_id"]


def test_rotate_rekey_then_shred_the_old_secret(tmp_path):
    km = FakeAccountKeyManager()
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    secrets, settings = account_keymaster.make_secrets(dict(CONN), manager=km)
    app = account_keymaster.AccountKeyMaster(encryption.filter_factory({})(store), secrets,
                                             settings)
    names = ["o%d" % i for i in range(3)]
    for account in ("AUTH_a", "AUTH_b"):
        assert call(app, "PUT", "/v1/%s/c" % account).status_int in (201, 202)
        for name in names:
            resp = call(app, "PUT", "/v1/%s/c/%s" % (account, name), name.encode() * 10,
                        {"X-Object-Meta-Color": name})
            assert resp.status_int == 201
    old = secret_id(store, "/v1/AUTH_a/c/o0")
    other = secret_id(store, "/v1/AUTH_b/c/o0")

    # rotation: a newer generation becomes what AUTH_a writes with
    later = km.secrets[old][2] + datetime.timedelta(days=1)
    new = km.add("swiftcrypt-account:AUTH_a", created=later)

    counts = rekeyrun.Rekeyer(app, "AUTH_a").run()
    assert counts[rekeyrun.REKEYED] == len(names) and counts[rekeyrun.FAILED] == 0
    for name in names:
        assert secret_id(store, "/v1/AUTH_a/c/%s" % name) == new
        assert secret_id(store, "/v1/AUTH_b/c/%s" % name) == other
    again = rekeyrun.Rekeyer(app, "AUTH_a").run()
    assert again[rekeyrun.CURRENT] == len(names) and again[rekeyrun.REKEYED] == 0

    km.delete_secret(old)  # keys shred --secret-id OLD
    for account in ("AUTH_a", "AUTH_b"):
        for name in names:
            resp = call(app, "GET", "/v1/%s/c/%s" % (account, name))
            assert resp.status_int == 200 and resp.body == name.encode() * 10
            assert resp.headers["X-Object-Meta-Color"] == name
