"""Per-account root secrets in a real Barbican (no auth): account_keymaster
-> encryption -> the embedded store.

Two accounts get distinct Barbican secrets named after them, recorded by
id with every item; one account's items do not decrypt under the other's
secret; two proxies racing to create an account's secret converge and
every object stays readable; ``swiftcrypt keys shred`` deletes an
account's secrets, after which its objects answer 410 (its listing still
names them) while the other account's read on; a restarted proxy reads
what was written before; Barbican unreachable is a quick 503; and no
secret, in any printable form, reaches any log record (every logger at
DEBUG) or response. The Barbican fixture raises if it cannot start: these
tests fail, never skip.
"""

import hmac
import io
import json
import logging
import threading
import uuid

import pytest
from webob import Request

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.crypto import cryptometa

from swiftcrypt.middleware import encryption

from swiftcrypt.crypto import derivation

from swiftcrypt.cli import keys
from swiftcrypt.cli import build_parser
from tests.integration.kms.conftest import noauth_conf, raw_store
from tests.integration.kms.test_kms_secrets_never_logged import Capture
from tests.integration.servers import free_port
from tests.unit.test_secrets_never_logged import forms

BODY = b"account-secret body " * 100
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"


def proxy(data_dir, barbican_server, encryption_conf=None, **extra):
    conf = noauth_conf(barbican_server, **extra)
    store = raw_store(data_dir)
    return account_keymaster.filter_factory({}, **conf)(
        encryption.filter_factory({}, **(encryption_conf or {}))(store))


def call(app, method, path, body=None, headers=None, query=""):
    """``path`` is real text."""
    req = Request.blank("/", method=method, headers=headers or {})
    req.environ["PATH_INFO"] = path.encode("utf-8").decode("latin-1")
    req.environ["QUERY_STRING"] = query
    if body is not None:
        req.body = body
    return req.get_response(app)


def put(app, account, name, body=BODY):
    assert call(app, "PUT", "/v1/%s/c" % account).status_int in (201, 202, 204)
    resp = call(app, "PUT", "/v1/%s/c/%s" % (account, name), body,
                {"X-Object-Meta-Color": "blue"})
    assert resp.status_int == 201, (resp.status, resp.body)
    return resp


def stored(data_dir, account, name):
    """The raw stored headers of an object."""
    resp = call(raw_store(data_dir), "HEAD", "/v1/%s/c/%s" % (account, name))
    assert resp.status_int == 200
    return resp.headers


def stored_secret_id(data_dir, account, name):
    return cryptometa.load(stored(data_dir, account, name)[BODY_META])["key_id"]["secret_id"]


@pytest.fixture
def accounts():
    tag = uuid.uuid4().hex[:8]
    return "AUTH_a%s" % tag, "AUTH_b%s" % tag


@pytest.fixture
def logs():
    capture = Capture()
    root = logging.getLogger()
    saved = root.level
    names = ("swiftcrypt", "swiftcrypt.keymanager.http", "barbicanclient", "keystoneauth",
             "urllib3")
    levels = {n: logging.getLogger(n).level for n in names}
    root.setLevel(logging.DEBUG)
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)
    root.setLevel(saved)
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)


def shred(barbican_server, tmp_path, account):
    conf = tmp_path / "shred.conf"
    conf.write_text("[filter:account_keymaster]\nuse = egg:swiftcrypt#account_keymaster\n" +
                    "".join("%s = %s\n" % kv for kv in noauth_conf(barbican_server).items()))
    argv = ["keys", "shred", "--account", account, "--config", str(conf), "--yes"]
    out, err = io.StringIO(), io.StringIO()
    status = keys.run(build_parser(argv).parse_args(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def test_two_accounts_distinct_secrets_shred_one_restart_and_no_leaks(
        barbican_noauth, manager, accounts, tmp_path, logs):
    a, b = accounts
    data = tmp_path / "data"
    app = proxy(data, barbican_noauth, cache_ttl="0")
    texts = []
    for account in (a, b):
        for name in ("o1", "caf\u00e9"):
            texts.append(put(app, account, name).body)

    # distinct Barbican secrets, by name, recorded by id with each item
    infos = {acct: manager.list_secrets("swiftcrypt-account:" + acct) for acct in (a, b)}
    assert [len(infos[a]), len(infos[b])] == [1, 1]
    id_a, id_b = infos[a][0].key_id, infos[b][0].key_id
    assert id_a != id_b
    assert stored_secret_id(data, a, "o1") == id_a
    assert stored_secret_id(data, b, "o1") == id_b
    secret_a = manager.get_secret(id_a).payload
    secret_b = manager.get_secret(id_b).payload
    assert len(secret_a) == 32 and secret_a != secret_b

    # a's object decrypts under a's secret and not under b's (MAC check)
    raw = stored(data, a, "o1")
    etag_value, etag_meta = cryptometa.extract(raw["X-Object-Sysmeta-Crypto-Etag"])
    for root, ok in ((secret_a, True), (secret_b, False)):
        key = derivation.derive_key(root, "/%s/c/o1" % a)
        etag = cryptometa.decrypt_value(etag_value, key, etag_meta).decode("latin-1")
        mac = derivation.etag_mac(key, etag)
        assert hmac.compare_digest(mac, raw["X-Object-Sysmeta-Crypto-Etag-Mac"]) is ok

    # a proxy restarted (new process state) reads what was written before
    app = proxy(data, barbican_noauth, cache_ttl="0")
    for account in (a, b):
        resp = call(app, "GET", "/v1/%s/c/o1" % account)
        assert resp.status_int == 200 and resp.body == BODY
        texts.append(resp.body)

    # shred a
    status, out, err = shred(barbican_noauth, tmp_path, a)
    assert status == 0, err
    assert "deleted %s" % id_a in out
    assert manager.list_secrets("swiftcrypt-account:" + a) == []
    for method in ("GET", "HEAD"):
        resp = call(app, method, "/v1/%s/c/o1" % a)
        assert resp.status_int == 410, resp.status
        assert BODY not in resp.body
        texts.append(resp.body)
    listing = call(app, "GET", "/v1/%s/c" % a, query="format=json")
    assert listing.status_int == 200
    entries = json.loads(listing.body)
    assert sorted(e["name"] for e in entries) == ["caf\u00e9", "o1"]
    assert {e["hash"] for e in entries} == {"<unknown>"}
    # b is untouched, also after a restart
    for app_b in (app, proxy(data, barbican_noauth)):
        resp = call(app_b, "GET", "/v1/%s/c/o1" % b)
        assert resp.status_int == 200 and resp.body == BODY
    logged = [logs.format(r) for r in logs.records]
    assert any(a in line and id_a in line and "410" in line for line in logged)

    # nothing secret anywhere
    everything = "\n".join(logged + [repr(r.args) for r in logs.records] +
                           [t.decode("latin-1") for t in texts] + [out, err])
    for secret in (secret_a, secret_b):
        for form in forms(secret):
            assert form not in everything


def test_racing_proxies_converge_and_all_objects_read(barbican_noauth, manager, accounts,
                                                       tmp_path):
    account = accounts[0]
    data = tmp_path / "data"
    proxies = [proxy(data, barbican_noauth) for _ in range(4)]
    assert call(proxies[0], "PUT", "/v1/%s/c" % account).status_int in (201, 202, 204)
    start = threading.Barrier(len(proxies))
    results = {}

    def write(i):
        start.wait()
        results[i] = call(proxies[i], "PUT", "/v1/%s/c/o%d" % (account, i), BODY).status_int

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(proxies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: 201 for i in range(len(proxies))}
    infos = manager.list_secrets("swiftcrypt-account:" + account)
    assert 1 <= len(infos) <= len(proxies)
    # every object reads through every proxy, whichever secret it used
    fresh = [proxy(data, barbican_noauth) for _ in range(2)]
    for app in proxies + fresh:
        for i in range(len(proxies)):
            resp = call(app, "GET", "/v1/%s/c/o%d" % (account, i))
            assert resp.status_int == 200 and resp.body == BODY
    # and fresh proxies agree on the one they write with
    for i, app in enumerate(fresh):
        put(app, account, "after%d" % i)
    ids = {stored_secret_id(data, account, "after%d" % i) for i in range(len(fresh))}
    assert len(ids) == 1
    assert ids == {min(infos, key=lambda i: (i.created, i.key_id)).key_id}


def test_creation_off_is_403_and_barbican_down_is_503(barbican_noauth, accounts,
                                                      tmp_path):
    data = tmp_path / "data"
    app = proxy(data, barbican_noauth, create_account_secrets="false")
    assert call(app, "PUT", "/v1/%s/c" % accounts[0]).status_int in (201, 202, 204)
    resp = call(app, "PUT", "/v1/%s/c/o" % accounts[0], b"x")
    assert resp.status_int == 403

    dead = {"auth_type": "noauth", "barbican_endpoint": "http://127.0.0.1:%d" % free_port(),
            "project_id": "p", "timeout": "2", "retries": "0"}
    down = account_keymaster.filter_factory({}, **dead)(
        encryption.filter_factory({})(raw_store(data)))
    # the configured timeout and retries bound the wait (their parsing and
    # use are unit-tested in test_keymanager.py); here: the status
    resp = call(down, "PUT", "/v1/%s/c/o" % accounts[1], b"x")
    assert resp.status_int == 503 and b"key manager" in resp.body
