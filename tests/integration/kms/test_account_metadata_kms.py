"""Encrypted account metadata under account_keymaster with a real Barbican
(no auth) over the embedded store: each account's metadata is encrypted
under a key from that account's own Barbican secret (recorded by id),
nothing is stored in plaintext, and after ``swiftcrypt keys shred`` of one
account its account metadata is unreadable (410, no ciphertext shown as
plaintext) while the other account's reads on. The Barbican fixture
raises if it cannot start: these tests fail, never skip."""

import uuid

from swiftcrypt.crypto import cryptometa
from tests.integration.kms.conftest import raw_store
from tests.integration.kms.test_account_secrets import call, proxy, shred

OPTION = {"encrypt_account_metadata": "true"}
CRYPTO = "X-Account-Sysmeta-Crypto-Meta-Secret"


def test_shredding_an_account_makes_its_account_metadata_unreadable(
        barbican_noauth, manager, tmp_path):
    tag = uuid.uuid4().hex[:8]
    a, b = "AUTH_ma%s" % tag, "AUTH_mb%s" % tag
    data = tmp_path / "data"
    app = proxy(data, barbican_noauth, encryption_conf=OPTION, cache_ttl="0")
    values = {acct: "acct-meta-%s-%s" % (acct, uuid.uuid4().hex) for acct in (a, b)}
    for acct in (a, b):
        resp = call(app, "POST", "/v1/" + acct, headers={
            "X-Account-Meta-Secret": values[acct], "X-Account-Meta-Temp-Url-Key": "k-" + acct})
        assert resp.status_int == 204, (resp.status, resp.body)

    raw = raw_store(data)
    for acct in (a, b):
        stored = call(raw, "HEAD", "/v1/" + acct).headers
        assert values[acct] not in str(stored)
        assert stored["X-Account-Meta-Temp-Url-Key"] == "k-" + acct  # kept plain
        key_id = cryptometa.extract(stored[CRYPTO])[1]["key_id"]
        [info] = manager.list_secrets("swiftcrypt-account:" + acct)
        assert key_id == {"v": "2", "path": "/" + acct, "secret_id": info.key_id}
        resp = call(app, "HEAD", "/v1/" + acct)
        assert resp.status_int == 204 and resp.headers["X-Account-Meta-Secret"] == values[acct]

    status, _out, err = shred(barbican_noauth, tmp_path, a)
    assert status == 0, err
    for method in ("HEAD", "GET"):
        resp = call(app, method, "/v1/" + a)
        assert resp.status_int == 410, resp.status
        assert values[a] not in str(resp.headers) + resp.body.decode("latin-1")
        assert "Crypto" not in str(resp.headers)
    # the other account, also through a new proxy (fresh caches)
    for app_b in (app, proxy(data, barbican_noauth, encryption_conf=OPTION)):
        resp = call(app_b, "HEAD", "/v1/" + b)
        assert resp.status_int == 204 and resp.headers["X-Account-Meta-Secret"] == values[b]
