"""encrypt_account_metadata in a real Swift proxy: account user metadata
round-trips on HEAD and listings in every format and is not in plaintext
in the account DB files (a value kept plain is, proving the scan saw
them); tempurl with an account-scoped key (kept plain: tempurl reads it
from account info) still works; Swift's own encryption filter does not
show the encrypted values, and swiftcrypt shows them again."""

from urllib.parse import urlsplit

import pytest
import requests
from swiftclient.utils import generate_temp_url

from tests.integration.swift.conftest import (
    META_OPTIONS, connect, db_bytes, make_body, swift_crypto, swiftcrypt_crypto, through,
    unique)


@pytest.fixture
def crypto_cluster(meta_cluster):
    return meta_cluster


def test_round_trip_and_not_plain_in_account_dbs(meta_cluster, conn, http):
    secret = "ameta-secret-" + unique("v")
    posted = "ameta-posted-\u00e4\u00f6\u00fc-" + unique("v")
    gone = "ameta-gone-" + unique("v")
    control = "ameta-plain-tuk-" + unique("v")  # a name kept plain: the scan's control
    names = ("Secret", "Posted", "Gone", "Temp-Url-Key-2")
    try:
        conn.post_account({"X-Account-Meta-Secret": secret, "X-Account-Meta-Gone": gone})
        conn.post_account({"X-Account-Meta-Posted": posted,
                           "X-Remove-Account-Meta-Gone": "x",
                           "X-Account-Meta-Temp-Url-Key-2": control})
        headers = conn.head_account()
        assert headers["x-account-meta-secret"] == secret
        assert headers["x-account-meta-posted"] == posted
        assert headers["x-account-meta-temp-url-key-2"] == control
        assert "x-account-meta-gone" not in headers
        assert not [h for h in headers if "sysmeta" in h]
        listing_headers, _listing = conn.get_account()
        assert listing_headers["x-account-meta-secret"] == secret
        for fmt in ("json", "xml", "plain"):
            resp = http.request("GET", params={"format": fmt})
            assert resp.status_code in (200, 204), (fmt, resp.status_code)
            assert resp.headers["X-Account-Meta-Secret"] == secret
            assert not [h for h in resp.headers if "sysmeta" in h.lower()]

        content = db_bytes(meta_cluster, "account")
        assert control.encode() in content, "the scan did not see the account DBs"
        for value in (secret, posted, gone):
            for form in {value.encode("utf-8"),
                         value.encode("utf-8").decode("latin-1").encode()}:
                assert form not in content, "plaintext %r in an account DB" % value

        # removal by an empty value
        conn.post_account({"X-Account-Meta-Secret": ""})
        assert "x-account-meta-secret" not in conn.head_account()
    finally:
        conn.post_account({"X-Remove-Account-Meta-" + name: "x" for name in names})


def test_tempurl_with_an_account_key(meta_cluster, conn, plaintexts):
    cont = unique("ameta-tu")
    key = "acct-key-" + unique("k")
    try:
        conn.post_account({"X-Account-Meta-Temp-URL-Key": key,
                           "X-Account-Meta-Other": "encrypted-one"})
        assert conn.head_account()["x-account-meta-other"] == "encrypted-one"
        conn.put_container(cont)
        body = plaintexts.body(make_body("ameta-tempurl", 100))
        conn.put_object(cont, "o", body)
        path = urlsplit(conn.url).path + "/%s/o" % cont
        origin = "%s://%s" % urlsplit(conn.url)[:2]
        resp = requests.get(origin + generate_temp_url(path, 300, key, "GET"), timeout=60)
        assert resp.status_code == 200 and resp.content == body
        bad = generate_temp_url(path, 300, "wrong-key", "GET")
        assert requests.get(origin + bad, timeout=60).status_code == 401
    finally:
        conn.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x",
                           "X-Remove-Account-Meta-Other": "x"})


def test_swift_encryption_does_not_show_them(cluster):
    values = {"X-Account-Meta-Hidden": "hidden-value",
              "X-Account-Meta-Temp-Url-Key-2": "shown-key"}
    through(cluster, swiftcrypt_crypto(encryption_options=META_OPTIONS),
            lambda c: c.post_account(values))
    try:
        headers = through(cluster, swift_crypto(), lambda c: c.head_account())
        assert "x-account-meta-hidden" not in headers  # the gatekeeper drops the sysmeta
        assert headers["x-account-meta-temp-url-key-2"] == "shown-key"
        # and swiftcrypt, option now off, still reads it
        headers = through(cluster, swiftcrypt_crypto(), lambda c: c.head_account())
        assert headers["x-account-meta-hidden"] == "hidden-value"
    finally:
        through(cluster, swiftcrypt_crypto(), lambda c: c.post_account(
            {"X-Remove-" + name[2:]: "x" for name in values}))


def test_the_accumulated_limit_holds_for_encrypted_values(meta_cluster):
    """Swift's account server limits an account's whole metadata set (90
    items) but counts only X-Account-Meta-*: the encrypter checks the set
    itself, read back through the proxy, or encrypted values escape."""
    from swiftclient.exceptions import ClientException

    c = connect(meta_cluster, "test2", "tester2")
    names = ["M%03d" % i for i in range(90)] + ["Extra"]
    try:
        c.post_account({"X-Account-Meta-" + name: "v" for name in names[:60]})
        c.post_account({"X-Account-Meta-" + name: "v" for name in names[60:90]})
        with pytest.raises(ClientException) as err:
            c.post_account({"X-Account-Meta-Extra": "v"})
        assert err.value.http_status == 400
        assert "Too many metadata items" in str(err.value.http_response_content)
        headers = c.head_account()
        assert len([h for h in headers if h.startswith("x-account-meta-")]) == 90
        c.post_account({"X-Remove-Account-Meta-M000": "x", "X-Account-Meta-Extra": "v"})
        assert c.head_account()["x-account-meta-extra"] == "v"
    finally:
        c.post_account({"X-Remove-Account-Meta-" + name: "x" for name in names})
        c.close()


def test_clients_cannot_forge_or_read_the_encrypted_copies(meta_cluster, conn, http):
    try:
        conn.post_account({"X-Account-Meta-Forge": "real-value"})
        # Swift's gatekeeper drops client sysmeta: neither written nor shown
        resp = http.request("POST", headers={"X-Account-Sysmeta-Crypto-Meta-Forge": "forged"})
        assert resp.status_code == 204
        resp = http.request("HEAD")
        assert resp.headers["X-Account-Meta-Forge"] == "real-value"
        assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    finally:
        conn.post_account({"X-Remove-Account-Meta-Forge": "x"})


def test_a_value_set_beside_its_own_removal_wins_as_in_swift(meta_cluster, conn):
    # Swift's proxy applies X-Remove-* before the values set, whatever the
    # header order: the encrypted copy must not be removed after it is set
    try:
        conn.post_account({"X-Account-Meta-Both": "old"})
        conn.post_account({"X-Account-Meta-Both": "new", "X-Remove-Account-Meta-Both": "x"})
        assert conn.head_account()["x-account-meta-both"] == "new"
    finally:
        conn.post_account({"X-Remove-Account-Meta-Both": "x"})
