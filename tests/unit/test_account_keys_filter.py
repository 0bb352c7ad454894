"""The account_keymaster filter in a pipeline (account_keymaster ->
encryption -> in-memory store) with an in-memory key manager: keys per
account, key ids with the Barbican id, statuses after a shred, during an
outage and with creation off, listings, a keymaster before it as the
fallback, config errors, and logs without secrets."""

import json
import logging

import pytest

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import derivation

from swiftcrypt.keymasters import config_keymaster
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager.base import Unreachable
from tests.support.memstore import MemStore
from tests.support.pipelines import call
from tests.unit.test_account_keys import FakeAccountKeyManager

CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p"}
BODY = b"per-account secret body"
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"


class Proxy:
    """One proxy: its own caches over the shared key manager and store."""

    def __init__(self, km, store, fallback_conf=None, **conf):
        conf = dict(CONN, retries="0", **conf)
        secrets, settings = account_keymaster.make_secrets(conf, manager=km)
        self.secrets = secrets
        app = account_keymaster.AccountKeyMaster(encryption_factory({})(store), secrets,
                                                 settings)
        if fallback_conf is not None:
            app = config_keymaster.filter_factory({}, **fallback_conf)(app)
        self.app = app

    def __call__(self, method, path, body=None, headers=None, **environ):
        return call(self.app, path, method, body, headers, **environ)

    def put(self, path, body=BODY, meta="blue"):
        container = path.rsplit("/", 1)[0]
        assert self("PUT", container).status_int in (201, 202, 204)
        resp = self("PUT", path, body, {"X-Object-Meta-Color": meta})
        assert resp.status_int == 201, resp.status
        return resp


@pytest.fixture
def km():
    return FakeAccountKeyManager()


@pytest.fixture
def store():
    return MemStore()


def stored_key_id(store, path):
    meta, _body = store.objects[path]
    headers = {k.lower(): v for k, v in meta.items()}
    return cryptometa.load(headers[BODY_META.lower()])["key_id"]


def test_accounts_get_distinct_barbican_secrets_recorded_per_item(km, store):
    proxy = Proxy(km, store)
    proxy.put("/v1/AUTH_a/c/o")
    proxy.put("/v1/AUTH_b/c/o")
    a, b = stored_key_id(store, "/v1/AUTH_a/c/o"), stored_key_id(store, "/v1/AUTH_b/c/o")
    assert a["secret_id"] != b["secret_id"]
    assert km.secrets[a["secret_id"]][0] == "swiftcrypt-account:AUTH_a"
    assert km.secrets[b["secret_id"]][0] == "swiftcrypt-account:AUTH_b"
    assert a == {"v": "2", "path": "/AUTH_a/c/o", "secret_id": a["secret_id"]}
    for path in ("/v1/AUTH_a/c/o", "/v1/AUTH_b/c/o"):
        resp = proxy("GET", path)
        assert resp.status_int == 200 and resp.body == BODY
        assert resp.headers["X-Object-Meta-Color"] == "blue"


def test_keys_are_the_swift_derivation_from_the_account_secret(km, store):
    proxy = Proxy(km, store)
    proxy.put("/v1/AUTH_a/c/o")
    key_id = stored_key_id(store, "/v1/AUTH_a/c/o")
    root = km.payload(key_id["secret_id"])
    fetch = {}

    def app(environ, start_response):
        fetch["keys"] = environ[config_keymaster.CALLBACK]()
        start_response("204 No Content", [])
        return [b""]

    secrets, settings = account_keymaster.make_secrets(dict(CONN), manager=km)
    call(account_keymaster.AccountKeyMaster(app, secrets, settings), "/v1/AUTH_a/c/o", "GET")
    keys = fetch["keys"]
    assert keys["object"] == derivation.derive_key(root, "/AUTH_a/c/o")
    assert keys["container"] == derivation.derive_key(root, "/AUTH_a/c")
    assert keys["id"] == key_id and keys["all_ids"] == [key_id]


def test_one_accounts_objects_cannot_be_read_with_anothers_secret(km, store):
    proxy = Proxy(km, store)
    proxy.put("/v1/AUTH_a/c/o")
    proxy.put("/v1/AUTH_b/c/o")
    # b's item metadata moved onto a's object: a's keymaster will not use
    # b's secret (not a's by name): refused, not garbage
    store.objects["/v1/AUTH_a/c/o"] = store.objects["/v1/AUTH_b/c/o"]
    resp = Proxy(km, store)("GET", "/v1/AUTH_a/c/o")
    assert resp.status_int == 500 and BODY not in resp.body


def test_shred_makes_reads_410_and_other_accounts_read_on(km, store, caplog):
    proxy = Proxy(km, store, cache_ttl="0")
    proxy.put("/v1/AUTH_a/c/o")
    proxy.put("/v1/AUTH_b/c/o")
    a = stored_key_id(store, "/v1/AUTH_a/c/o")["secret_id"]
    km.delete_secret(a)
    with caplog.at_level(logging.INFO):
        for method in ("GET", "HEAD"):
            resp = proxy(method, "/v1/AUTH_a/c/o")
            assert resp.status_int == 410, resp.status
            assert BODY not in resp.body
        resp = proxy("GET", "/v1/AUTH_a/c/o", headers={"If-None-Match": '"abc"'})
        assert resp.status_int == 410
    assert proxy("GET", "/v1/AUTH_b/c/o").body == BODY
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("account_keymaster")]
    assert any("AUTH_a" in line and a in line and "410" in line for line in lines)


def test_shred_reaches_a_caching_proxy_within_the_ttl(km, store):
    proxy = Proxy(km, store, cache_ttl="30")
    clock = [0.0]
    for cache in (proxy.secrets._accounts, proxy.secrets._secrets):
        cache.clock = lambda: clock[0]
    proxy.put("/v1/AUTH_a/c/o")
    cache_fill = proxy("GET", "/v1/AUTH_a/c/o")
    assert cache_fill.status_int == 200
    km.delete_secret(stored_key_id(store, "/v1/AUTH_a/c/o")["secret_id"])
    assert proxy("GET", "/v1/AUTH_a/c/o").status_int == 200  # cached
    clock[0] += 31
    assert proxy("GET", "/v1/AUTH_a/c/o").status_int == 410


def test_listing_of_a_shredded_account_names_visible_etags_unknown(km, store):
    proxy = Proxy(km, store, cache_ttl="0")
    proxy.put("/v1/AUTH_a/c/o1")
    proxy.put("/v1/AUTH_a/c/o2", body=b"other")
    km.delete_secret(stored_key_id(store, "/v1/AUTH_a/c/o1")["secret_id"])
    km.calls = []
    resp = proxy("GET", "/v1/AUTH_a/c", headers={"Accept": "application/json"},
                 QUERY_STRING="format=json")
    assert resp.status_int == 200
    listing = json.loads(resp.body)
    assert [e["name"] for e in listing] == ["o1", "o2"]
    assert {e["hash"] for e in listing} == {"<unknown>"}
    gets = [c for c in km.calls if c[0] == "get"]
    assert len(gets) == 1  # the gone id is looked up once, not per entry


def test_write_after_shred_gets_a_new_secret(km, store):
    proxy = Proxy(km, store, cache_ttl="0")
    proxy.put("/v1/AUTH_a/c/o")
    old = stored_key_id(store, "/v1/AUTH_a/c/o")["secret_id"]
    km.delete_secret(old)
    proxy.put("/v1/AUTH_a/c/new")
    new = stored_key_id(store, "/v1/AUTH_a/c/new")["secret_id"]
    assert new != old and proxy("GET", "/v1/AUTH_a/c/new").body == BODY
    assert proxy("GET", "/v1/AUTH_a/c/o").status_int == 410


def test_key_manager_down_is_503_not_500(km, store, caplog):
    proxy = Proxy(km, store, cache_ttl="0")
    proxy.put("/v1/AUTH_a/c/o")
    down = Unreachable(None, "Fake did not answer within the timeout of 1 s")
    km.failures = [down] * 10
    assert proxy("GET", "/v1/AUTH_a/c/o").status_int == 503
    km.failures = [down] * 10
    listing = proxy("GET", "/v1/AUTH_a/c", QUERY_STRING="format=json")
    assert listing.status_int == 503
    km.failures = [down] * 10
    resp = proxy("PUT", "/v1/AUTH_a/c/o2", b"x")
    assert resp.status_int == 503 and b"key manager" in resp.body
    km.failures = []
    assert proxy("GET", "/v1/AUTH_a/c/o").status_int == 200


def test_creation_off_refuses_writes_403_and_reads_still_work(km, store):
    Proxy(km, store).put("/v1/AUTH_a/c/o")
    proxy = Proxy(km, store, create_account_secrets="false")
    assert proxy("PUT", "/v1/AUTH_new/c").status_int in (201, 202, 204)  # no keys needed
    resp = proxy("PUT", "/v1/AUTH_new/c/o", b"x")
    assert resp.status_int == 403 and b"no encryption root secret" in resp.body
    assert proxy("POST", "/v1/AUTH_new/c/o", headers={"X-Object-Meta-A": "b"}).status_int == 403
    assert not any(name == "swiftcrypt-account:AUTH_new" for name, _p, _c in km.secrets.values())
    assert proxy("GET", "/v1/AUTH_a/c/o").body == BODY
    proxy.put("/v1/AUTH_a/c/o2")  # an account with a secret still takes writes


def test_reads_never_create_and_conditionals_work_without_a_secret(km, store):
    proxy = Proxy(km, store)
    # a plaintext object from before encryption, in an account with no secret
    store.objects["/v1/AUTH_p/c/o"] = ({"Etag": "abc", "Content-Type": "text/plain"}, b"plain")
    assert proxy("GET", "/v1/AUTH_p/c/o").body == b"plain"
    resp = proxy("GET", "/v1/AUTH_p/c/o", headers={"If-None-Match": '"nope"'})
    assert resp.status_int in (200, 304)
    assert proxy("HEAD", "/v1/AUTH_p/c/missing").status_int == 404
    assert km.secrets == {}


def test_conditional_get_matches_under_the_accounts_secrets(km, store):
    proxy = Proxy(km, store)
    etag = proxy.put("/v1/AUTH_a/c/o").headers["Etag"].strip('"')
    assert proxy("GET", "/v1/AUTH_a/c/o", headers={"If-Match": etag}).status_int == 200
    assert proxy("GET", "/v1/AUTH_a/c/o", headers={"If-None-Match": etag}).status_int == 304


def test_rotation_new_writes_use_it_and_old_objects_read(km, store):
    proxy = Proxy(km, store, cache_ttl="0")
    proxy.put("/v1/AUTH_a/c/old")
    old = stored_key_id(store, "/v1/AUTH_a/c/old")["secret_id"]
    import datetime
    newer = km.secrets[old][2] + datetime.timedelta(days=1)
    new = km.add("swiftcrypt-account:AUTH_a", created=newer)
    proxy.put("/v1/AUTH_a/c/new")
    assert stored_key_id(store, "/v1/AUTH_a/c/new")["secret_id"] == new
    assert proxy("GET", "/v1/AUTH_a/c/old").body == BODY
    # what rekey compares items with: the account's active id
    seen = {}

    def app(environ, start_response):
        seen.update(environ[config_keymaster.CALLBACK](key_id=None))
        start_response("204 No Content", [])
        return [b""]

    secrets, settings = account_keymaster.make_secrets(dict(CONN), manager=km)
    call(account_keymaster.AccountKeyMaster(app, secrets, settings), "/v1/AUTH_a/c/old", "HEAD",
         **{"swift.crypto.override": True})
    assert seen["id"]["secret_id"] == new
    assert [i["secret_id"] for i in seen["all_ids"]] == [new, old]


def test_a_keymaster_before_it_reads_objects_written_before_the_switch(km, store):
    import base64
    conf = {"encryption_root_secret": base64.b64encode(b"r" * 32).decode()}
    before = config_keymaster.filter_factory({}, **conf)(encryption_factory({})(store))
    assert call(before, "/v1/AUTH_a/c", "PUT").status_int in (201, 202, 204)
    assert call(before, "/v1/AUTH_a/c/legacy", "PUT", BODY).status_int == 201
    proxy = Proxy(km, store, fallback_conf=conf)
    assert proxy("GET", "/v1/AUTH_a/c/legacy").body == BODY
    proxy.put("/v1/AUTH_a/c/new")
    assert "secret_id" in stored_key_id(store, "/v1/AUTH_a/c/new")
    assert proxy("GET", "/v1/AUTH_a/c/new").body == BODY
    etag = proxy("HEAD", "/v1/AUTH_a/c/legacy").headers["Etag"].strip('"')
    assert proxy("GET", "/v1/AUTH_a/c/legacy",
                 headers={"If-None-Match": etag}).status_int == 304
    # without the fallback the legacy object is an unknown secret: 500 as today
    assert Proxy(km, store)("GET", "/v1/AUTH_a/c/legacy").status_int == 500


def test_logs_name_ids_never_secret_bytes(km, store, caplog):
    with caplog.at_level(logging.DEBUG):
        proxy = Proxy(km, store, cache_ttl="0")
        proxy.put("/v1/AUTH_a/c/o")
        secret_id = stored_key_id(store, "/v1/AUTH_a/c/o")["secret_id"]
        payload = km.payload(secret_id)
        km.delete_secret(secret_id)
        proxy("GET", "/v1/AUTH_a/c/o")
    import base64
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert secret_id in text
    for form in (payload.hex(), base64.b64encode(payload).decode(), repr(payload)):
        assert form not in text


@pytest.mark.parametrize("conf, option", [
    ({"create_account_secrets": "maybe"}, "create_account_secrets"),
    ({"cache_ttl": "-1"}, "cache_ttl"),
    ({"cache_ttl": "soon"}, "cache_ttl"),
    ({"cache_size": "0"}, "cache_size"),
    ({"cache_negative_ttl": "-5"}, "cache_negative_ttl"),
    ({"cache_stale_ttl": "forever"}, "cache_stale_ttl"),
    ({"log_statsd_host": "127.0.0.1", "log_statsd_port": "0"}, "log_statsd_port"),
    ({"meta_version_to_write": "9"}, "meta_version_to_write"),
    ({"key_id": "x"}, "key_id"),
    ({"encryption_root_secret": "x"}, "encryption_root_secret"),
    ({"active_root_secret_id": "x"}, "active_root_secret_id"),
    ({"auth_type": "magic"}, "auth_type"),
    ({"barbican_endpoint": ""}, "barbican_endpoint"),
])
def test_config_errors_name_the_option_in_one_line(conf, option):
    full = dict(CONN, **conf)
    with pytest.raises(ConfigError) as err:
        account_keymaster.filter_factory({}, **full)
    assert err.value.option == option
    assert "\n" not in str(err.value) and str(err.value).startswith(option + ":")


def test_lifetimes_are_read(monkeypatch):
    app = account_keymaster.filter_factory(
        {}, **dict(CONN, cache_ttl="30", cache_stale_ttl="120"))(lambda e, s: [b""])
    assert (app.settings.ttl, app.settings.negative_ttl, app.settings.stale_ttl) == (30, 30, 120)
    app = account_keymaster.filter_factory(
        {}, **dict(CONN, cache_negative_ttl="7"))(lambda e, s: [b""])
    assert (app.settings.ttl, app.settings.negative_ttl, app.settings.stale_ttl) == (60, 7, 300)
    assert app.secrets._secrets.stale_ttl == 300


def test_filter_factory_makes_no_request_at_start(monkeypatch):
    made = []
    monkeypatch.setattr(account_keymaster.barbican, "BarbicanKeyManager",
                        lambda options: made.append(options))
    app = account_keymaster.filter_factory({}, **CONN)(lambda e, s: [b""])
    assert isinstance(app, account_keymaster.AccountKeyMaster) and made == []


def test_keymaster_config_path(tmp_path):
    path = tmp_path / "km.conf"
    path.write_text("[account_keymaster]\n" + "".join(
        "%s = %s\n" % kv for kv in CONN.items()))
    path.chmod(0o600)
    app = account_keymaster.filter_factory(
        {}, keymaster_config_path=str(path), cache_ttl="5")(lambda e, s: [b""])
    assert app.settings.ttl == 5
    with pytest.raises(ConfigError) as err:
        account_keymaster.filter_factory({}, keymaster_config_path=str(path), **CONN)
    assert err.value.option == "keymaster_config_path"


def test_per_process_manager_is_remade_after_fork(monkeypatch):
    made = []
    holder = account_keymaster.PerProcess(lambda: made.append(1) or len(made))
    assert holder() == 1 and holder() == 1
    monkeypatch.setattr(account_keymaster.os, "getpid", lambda: -5)
    assert holder() == 2


def test_put_when_only_the_secret_fetch_fails_is_503(km, store):
    km.add("swiftcrypt-account:AUTH_a")
    proxy = Proxy(km, store, cache_ttl="0")
    assert proxy("PUT", "/v1/AUTH_a/c").status_int in (201, 202, 204)
    real_get = km.get_secret

    def down(key_id):
        raise Unreachable(key_id, "Fake did not answer")

    km.get_secret = down
    resp = proxy("PUT", "/v1/AUTH_a/c/o", b"x")
    assert resp.status_int == 503 and "/v1/AUTH_a/c/o" not in store.objects
    km.get_secret = real_get
    assert proxy("PUT", "/v1/AUTH_a/c/o", b"x").status_int == 201


class Auth:
    """A tempauth-like auth filter: ``swift.authorize`` (called by Swift's
    proxy after every middleware) denies anonymous requests with 401 and
    lets a ``X-Auth-Token: ok`` through; ``calls`` records its requests."""

    def __init__(self, app):
        self.app = app
        self.calls = []

    def authorize(self, req):
        self.calls.append((req.method, req.path, getattr(req, "acl", None)))
        if req.headers.get("X-Auth-Token") != "ok":
            from webob import Response
            return Response(status=401, body=b"Unauthorized")
        return None

    def __call__(self, environ, start_response):
        environ["swift.authorize"] = self.authorize
        return self.app(environ, start_response)


@pytest.mark.parametrize("create", ["true", "false"])
def test_denied_writes_create_no_secret_and_get_the_denial(km, store, create):
    proxy = Proxy(km, store, create_account_secrets=create)
    auth = Auth(proxy.app)
    call(store, "/v1/AUTH_a/c", "PUT")
    for i in range(3):
        for method in ("PUT", "POST"):
            resp = call(auth, "/v1/AUTH_victim%d/c/o" % i, method, b"x")
            assert resp.status_int == 401, resp.status
    assert not km.secrets
    assert auth.calls and all(c[0] in ("PUT", "POST") for c in auth.calls)
    resp = call(auth, "/v1/AUTH_a/c/o", "PUT", b"x", {"X-Auth-Token": "ok"})
    if create == "true":
        assert resp.status_int == 201
        assert [v[0] for v in km.secrets.values()] == ["swiftcrypt-account:AUTH_a"]
    else:
        assert resp.status_int == 403 and not km.secrets


def test_authorize_is_not_called_when_the_account_has_a_secret(km, store):
    proxy = Proxy(km, store)
    proxy.put("/v1/AUTH_a/c/o")
    auth = Auth(proxy.app)
    resp = call(auth, "/v1/AUTH_a/c/o2", "PUT", b"x")  # the app (Swift's proxy) denies it
    assert resp.status_int == 201 and auth.calls == []


def test_real_tempauth_anonymous_put_creates_no_secret(km):
    from swift.common import swob
    from swift.common.middleware import tempauth

    def proxy_like(env, start_response):  # Swift's proxy authorizes after us
        denied = env["swift.authorize"](swob.Request(env))
        if denied is not None:
            return denied(env, start_response)
        start_response("201 Created", [("Content-Length", "0")])
        return [b""]

    secrets, settings = account_keymaster.make_secrets(dict(CONN, retries="0"), manager=km)
    app = account_keymaster.AccountKeyMaster(encryption_factory({})(proxy_like), secrets,
                                             settings)
    app = tempauth.filter_factory({}, user_admin_admin="admin .admin .reseller_admin")(app)
    for method in ("PUT", "POST"):
        resp = swob.Request.blank("/v1/AUTH_victim/c/o", method=method,
                                  body=b"x").get_response(app)
        assert resp.status_int == 401
    assert not km.secrets


def test_no_secret_answer_is_cached_briefly(km, store):
    proxy = Proxy(km, store, cache_ttl="60", create_account_secrets="false")
    call(store, "/v1/AUTH_x/c", "PUT")
    call(store, "/v1/AUTH_x/c/o", "PUT", b"plain")
    for i in range(5):
        assert proxy("GET", "/v1/AUTH_x/c/o").status_int == 200
        assert proxy("GET", "/v1/AUTH_x/c/o", headers={"If-Match": '"abc"'}).status_int == 412
        assert proxy("PUT", "/v1/AUTH_x/c/o%d" % i, b"x").status_int == 403
    assert len([c for c in km.calls if c[0] == "list"]) == 1, km.calls
