"""encrypt_container_metadata in a real Swift proxy: container user
metadata round-trips and is not in plaintext in the container DB files;
the metadata Swift's middlewares read from container info (tempurl keys,
quotas, CORS, staticweb) stays plain and keeps working; Swift's own
encryption filter does not show the encrypted values."""

import time
from urllib.parse import urlsplit

import pytest
import requests
from swiftclient.utils import generate_temp_url

from tests.integration.swift.conftest import (
    META_OPTIONS, db_bytes, make_body, swift_crypto, swiftcrypt_crypto, through, unique)


@pytest.fixture
def crypto_cluster(meta_cluster):
    return meta_cluster


def test_round_trip_and_not_plain_in_container_dbs(meta_cluster, conn, http):
    cont = unique("cmeta")
    secret = "cmeta-secret-" + unique("v")
    posted = "cmeta-posted-\u00e4\u00f6\u00fc-" + unique("v")
    gone = "cmeta-gone-" + unique("v")
    control = "cmeta-plain-quota-" + unique("v")  # a name kept plain: the scan's control
    conn.put_container(cont, headers={"X-Container-Meta-Secret": secret,
                                      "X-Container-Meta-Gone": gone})
    conn.post_container(cont, headers={"X-Container-Meta-Posted": posted,
                                       "X-Remove-Container-Meta-Gone": "x",
                                       "X-Container-Meta-Web-Listings-Label": control})
    conn.put_object(cont, "o", b"body")
    headers = conn.head_container(cont)
    assert headers["x-container-meta-secret"] == secret
    assert headers["x-container-meta-posted"] == posted
    assert headers["x-container-meta-web-listings-label"] == control
    assert "x-container-meta-gone" not in headers
    assert not [h for h in headers if "sysmeta" in h]
    listing_headers, listing = conn.get_container(cont)
    assert [o["name"] for o in listing] == ["o"]
    assert listing_headers["x-container-meta-secret"] == secret
    resp = http.request("GET", cont, params={"format": "xml"})
    assert resp.status_code == 200 and resp.headers["X-Container-Meta-Secret"] == secret

    content = db_bytes(meta_cluster, "container")
    assert control.encode() in content, "the scan did not see the container DBs"
    for value in (secret, posted, gone):
        for form in {value.encode("utf-8"), value.encode("utf-8").decode("latin-1").encode()}:
            assert form not in content, "plaintext %r in a container DB" % value

    # removal by an empty value
    conn.post_container(cont, headers={"X-Container-Meta-Secret": ""})
    assert "x-container-meta-secret" not in conn.head_container(cont)


def test_swift_encryption_does_not_show_them(cluster):
    cont = unique("cmeta-swap")
    through(cluster, swiftcrypt_crypto(encryption_options=META_OPTIONS),
            lambda c: c.put_container(cont, headers={"X-Container-Meta-Hidden": "hidden-value",
                                                     "X-Container-Meta-Quota-Count": "5"}))
    headers = through(cluster, swift_crypto(), lambda c: c.head_container(cont))
    assert "x-container-meta-hidden" not in headers  # the gatekeeper drops the sysmeta
    assert headers["x-container-meta-quota-count"] == "5"
    # and swiftcrypt, option now off, still reads it
    headers = through(cluster, swiftcrypt_crypto(), lambda c: c.head_container(cont))
    assert headers["x-container-meta-hidden"] == "hidden-value"


def test_tempurl_with_a_container_key(meta_cluster, conn, plaintexts):
    cont = unique("cmeta-tu")
    conn.put_container(cont, headers={"X-Container-Meta-Temp-URL-Key": "cont-key-123",
                                      "X-Container-Meta-Other": "encrypted-one"})
    body = plaintexts.body(make_body("cmeta-tempurl", 100))
    conn.put_object(cont, "o", body)
    path = urlsplit(conn.url).path + "/%s/o" % cont
    signed = generate_temp_url(path, 300, "cont-key-123", "GET")
    origin = "%s://%s" % urlsplit(conn.url)[:2]
    resp = requests.get(origin + signed, timeout=60)
    assert resp.status_code == 200 and resp.content == body
    bad = generate_temp_url(path, 300, "wrong-key", "GET")
    assert requests.get(origin + bad, timeout=60).status_code == 401


def test_container_quotas(meta_cluster, conn):
    # (limits the cached container info can judge at once: its object
    # count and bytes lag behind PUTs, in Swift with or without us)
    cont = unique("cmeta-q")
    conn.put_container(cont, headers={"X-Container-Meta-Quota-Count": "0",
                                      "X-Container-Meta-Other": "encrypted-one"})
    assert conn.head_container(cont)["x-container-meta-quota-count"] == "0"
    with pytest.raises(Exception) as err:
        conn.put_object(cont, "a", b"x")
    assert getattr(err.value, "http_status", None) == 413
    conn.post_container(cont, headers={"X-Container-Meta-Quota-Count": "",
                                       "X-Container-Meta-Quota-Bytes": "3"})
    conn.put_object(cont, "b", b"xx")
    with pytest.raises(Exception) as err:
        conn.put_object(cont, "c", b"x" * 10)
    assert getattr(err.value, "http_status", None) == 413


def test_cors(meta_cluster, conn, http):
    cont = unique("cmeta-cors")
    conn.put_container(cont, headers={
        "X-Container-Meta-Access-Control-Allow-Origin": "http://example.com",
        "X-Container-Meta-Secret": "cors-secret-value"})
    conn.put_object(cont, "o", b"x")
    pre = requests.options(http.url(cont, "o"), timeout=60, headers={
        "Origin": "http://example.com", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "http://example.com"
    denied = requests.options(http.url(cont, "o"), timeout=60, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert denied.status_code == 401
    resp = http.request("HEAD", cont, headers={"Origin": "http://example.com"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert resp.headers["X-Container-Meta-Secret"] == "cors-secret-value"
    assert "x-container-meta-secret" in resp.headers["Access-Control-Expose-Headers"].lower()


def test_staticweb(meta_cluster, conn, http):
    cont = unique("cmeta-web")
    conn.put_container(cont, headers={"X-Container-Read": ".r:*,.rlistings",
                                      "X-Container-Meta-Web-Index": "index.html",
                                      "X-Container-Meta-Web-Error": "error.html",
                                      "X-Container-Meta-Other": "encrypted-one"})
    conn.put_object(cont, "index.html", b"<h1>index page</h1>", content_type="text/html")
    conn.put_object(cont, "404error.html", b"<h1>not here</h1>", content_type="text/html")
    url = http.url(cont) + "/"
    deadline = time.monotonic() + 10  # the read ACL via container info
    while True:
        resp = requests.get(url, timeout=60)
        if resp.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert resp.status_code == 200 and resp.content == b"<h1>index page</h1>"
    missing = requests.get(url + "nope", timeout=60)
    assert missing.status_code == 404 and missing.content == b"<h1>not here</h1>"


def test_the_accumulated_limit_holds_for_encrypted_values(meta_cluster, conn):
    """Swift's container server limits a container's whole metadata set
    (90 items) but counts only X-Container-Meta-*: the encrypter checks the
    set itself, read back through the proxy, or encrypted values escape."""
    from swiftclient.exceptions import ClientException

    cont = unique("cmeta-limit")
    conn.put_container(cont, headers={"X-Container-Meta-M%03d" % i: "v" for i in range(60)})
    conn.post_container(cont, headers={"X-Container-Meta-M%03d" % i: "v"
                                       for i in range(60, 90)})
    with pytest.raises(ClientException) as err:
        conn.post_container(cont, headers={"X-Container-Meta-Extra": "v"})
    assert err.value.http_status == 400
    assert "Too many metadata items" in str(err.value.http_response_content)
    headers = conn.head_container(cont)
    assert len([h for h in headers if h.startswith("x-container-meta-")]) == 90
    conn.post_container(cont, headers={"X-Remove-Container-Meta-M000": "x",
                                       "X-Container-Meta-Extra": "v"})
    assert conn.head_container(cont)["x-container-meta-extra"] == "v"
