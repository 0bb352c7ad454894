"""Object and container API through swiftcrypt in a real Swift proxy."""

import json
import xml.etree.ElementTree as ET

import pytest
from swiftclient import ClientException

from tests.integration.swift import at_rest
from tests.integration.swift.conftest import make_body, unique
from tests.integration.swift.ranges import assert_multi_range, assert_single_ranges
from swiftcrypt.common import checksums

EMPTY_MD5 = checksums.md5(b"").hexdigest()


def md5(data):
    return checksums.md5(data).hexdigest()


def test_put_get_head_post_delete(cluster, conn, container, plaintexts):
    body = plaintexts.body(make_body("crud", 50000))
    color = plaintexts.meta("ultraviolet-secret-color")
    etag = conn.put_object(container, "obj", body, content_type="text/x-crud",
                           headers={"X-Object-Meta-Color": color})
    assert etag == md5(body)

    headers, got = conn.get_object(container, "obj")
    assert got == body
    assert headers["etag"] == md5(body)
    assert headers["x-object-meta-color"] == color
    assert headers["content-type"] == "text/x-crud"
    assert headers["content-length"] == str(len(body))
    assert not [h for h in headers if "crypto" in h]
    stored = at_rest.find(cluster, "/AUTH_test/%s/obj" % container)
    assert stored.body_key_path() == "/AUTH_test/%s/obj" % container
    assert len(stored.body) == len(body) and stored.body != body
    assert stored.header("Etag") == md5(stored.body)

    head = conn.head_object(container, "obj")
    assert head["etag"] == md5(body)
    assert head["x-object-meta-color"] == color
    assert head["content-length"] == str(len(body))

    shape = plaintexts.meta("dodecahedron-shape-value")
    conn.post_object(container, "obj", headers={"X-Object-Meta-Shape": shape})
    head = conn.head_object(container, "obj")
    assert head["x-object-meta-shape"] == shape
    assert "x-object-meta-color" not in head  # POST replaces user metadata
    headers, got = conn.get_object(container, "obj")
    assert got == body and headers["etag"] == md5(body)

    conn.delete_object(container, "obj")
    with pytest.raises(ClientException) as err:
        conn.get_object(container, "obj")
    assert err.value.http_status == 404


def test_overwrite_and_many_sizes(conn, container, plaintexts):
    for size in (1, 15, 16, 17, 4095, 65536, 65537, 1024 * 1024 + 3):
        body = plaintexts.body(make_body("size%d" % size, size))
        assert conn.put_object(container, "o", body) == md5(body)
        headers, got = conn.get_object(container, "o")
        assert got == body, size
        assert headers["etag"] == md5(body)


def test_chunked_put(conn, container, plaintexts):
    body = plaintexts.body(make_body("chunked", 300000))

    def chunks():
        for i in range(0, len(body), 7777):
            yield body[i:i + 7777]

    etag = conn.put_object(container, "chunked", chunks())
    assert etag == md5(body)
    assert conn.get_object(container, "chunked")[1] == body
    assert conn.head_object(container, "chunked")["content-length"] == str(len(body))


def test_client_etag_is_checked_against_plaintext(conn, container, http, plaintexts):
    body = plaintexts.body(make_body("etag-check", 1000))
    assert conn.put_object(container, "good", body, etag=md5(body)) == md5(body)
    resp = http.request("PUT", container, "bad", data=body,
                        headers={"Etag": md5(b"something else")})
    assert resp.status_code == 422
    assert http.request("HEAD", container, "bad").status_code == 404


def test_single_ranges(http, container, plaintexts):
    body = plaintexts.body(make_body("ranges", 100003))
    assert http.request("PUT", container, "r", data=body).status_code == 201
    size = len(body)
    cases = [
        ("0-0", 0, 0), ("0-15", 0, 15), ("1-16", 1, 16), ("15-16", 15, 16),
        ("17-4000", 17, 4000), ("65530-65560", 65530, 65560),
        ("99990-", 99990, size - 1), ("-1", size - 1, size - 1),
        ("-33", size - 33, size - 1), ("100000-200000", 100000, size - 1),
        ("0-", 0, size - 1),
    ]
    assert_single_ranges(http, container, "r", body, cases)


def test_multi_range(http, container, plaintexts):
    body = plaintexts.body(make_body("multirange", 70001))
    size = len(body)
    assert http.request("PUT", container, "mr", data=body).status_code == 201
    expect = [(0, 9), (17, 40), (1000, 1999), (65535, 65540), (size - 7, size - 1)]
    assert_multi_range(http, container, "mr", body, expect, "0-9,17-40,1000-1999,65535-65540,-7")


def test_conditional_requests(http, container, plaintexts):
    body = plaintexts.body(make_body("conditional", 5000))
    assert http.request("PUT", container, "c", data=body).status_code == 201
    etag = md5(body)
    quoted = '"%s"' % etag
    other = '"%s"' % md5(b"not it")
    for method in ("GET", "HEAD"):
        def req(method=method, **hdrs):
            return http.request(method, container, "c", headers=hdrs)

        assert req(**{"If-Match": quoted}).status_code == 200
        assert req(**{"If-Match": etag}).status_code == 200
        assert req(**{"If-Match": "%s, %s" % (other, quoted)}).status_code == 200
        assert req(**{"If-Match": other}).status_code == 412
        assert req(**{"If-Match": "*"}).status_code == 200
        resp = req(**{"If-None-Match": quoted})
        assert resp.status_code == 304
        assert resp.headers["Etag"] == quoted or resp.headers["Etag"] == etag
        assert req(**{"If-None-Match": "%s, %s" % (other, quoted)}).status_code == 304
        assert req(**{"If-None-Match": other}).status_code == 200
        assert req(**{"If-None-Match": "*"}).status_code == 304
    resp = http.request("GET", container, "c",
                        headers={"If-Match": quoted, "Range": "bytes=10-19"})
    assert resp.status_code == 206 and resp.content == body[10:20]
    resp = http.request("GET", container, "c",
                        headers={"If-None-Match": other, "Range": "bytes=10-19"})
    assert resp.status_code == 206 and resp.content == body[10:20]
    # conditional PUT
    resp = http.request("PUT", container, "c", data=b"x" * 20, headers={"If-None-Match": "*"})
    assert resp.status_code == 412
    assert http.request("GET", container, "c").content == body


def test_listings_show_plaintext_md5(conn, http, container, plaintexts):
    objs = {
        "a.txt": plaintexts.body(make_body("listing-a", 3000)),
        "b/c.bin": plaintexts.body(make_body("listing-b", 70000)),
        "empty": b"",
        "\u00e9t\u00e9/\u65e5\u672c\u8a9e-\U0001F600": plaintexts.body(make_body("listing-u", 100)),
    }
    for name, body in objs.items():
        conn.put_object(container, name, body)

    headers, listing = conn.get_container(container)
    by_name = {entry["name"]: entry for entry in listing}
    assert set(by_name) == set(objs)
    for name, body in objs.items():
        assert by_name[name]["hash"] == md5(body), name
        assert by_name[name]["bytes"] == len(body)

    resp = http.request("GET", container, params={"format": "json"})
    assert resp.status_code == 200
    assert {e["name"]: e["hash"] for e in resp.json()} == {n: md5(b) for n, b in objs.items()}

    resp = http.request("GET", container, headers={"Accept": "application/json"})
    assert {e["name"]: e["hash"] for e in json.loads(resp.content)} == {
        n: md5(b) for n, b in objs.items()}

    for how in ({"params": {"format": "xml"}}, {"headers": {"Accept": "application/xml"}}):
        resp = http.request("GET", container, **how)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("application/xml")
        root = ET.fromstring(resp.content)
        got = {o.findtext("name"): o.findtext("hash") for o in root.findall("object")}
        assert got == {n: md5(b) for n, b in objs.items()}

    resp = http.request("GET", container)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert sorted(resp.content.decode("utf-8").splitlines()) == sorted(objs)

    # prefix/delimiter listings still carry decrypted hashes
    resp = http.request("GET", container, params={"format": "json", "prefix": "b/"})
    assert [(e["name"], e["hash"]) for e in resp.json()] == [("b/c.bin", md5(objs["b/c.bin"]))]
    resp = http.request("GET", container, params={"format": "json", "delimiter": "/"})
    names = [e.get("name") or e.get("subdir") for e in resp.json()]
    assert "b/" in names and "a.txt" in names

    # the account listing sees the container
    acct = http.request("GET", params={"format": "json", "prefix": container}).json()
    assert [c["name"] for c in acct] == [container]


def test_utf8_names_and_metadata(conn, http, plaintexts):
    cont = "\u30b3\u30f3\u30c6\u30ca-" + unique("\u00fc")
    name = "d\u00e9j\u00e0/\u043e\u0431\u044a\u0435\u043a\u0442/\U0001F511 key"
    body = plaintexts.body(make_body("utf8", 2000))
    value = plaintexts.meta("\u00fcber-gem\u00fctlich \u6771\u4eac \U0001F680 \u00e9l\u00e8ve")
    conn.put_container(cont, headers={"X-Container-Meta-Note": "\u00e9t\u00e9"})
    etag = conn.put_object(cont, name, body, headers={"X-Object-Meta-Utf8": value})
    assert etag == md5(body)
    headers, got = conn.get_object(cont, name)
    assert got == body
    assert headers["x-object-meta-utf8"] == value
    assert conn.head_container(cont)["x-container-meta-note"] == "\u00e9t\u00e9"

    resp = http.request("HEAD", cont, name)
    assert resp.status_code == 200
    assert resp.headers["X-Object-Meta-Utf8"].encode("latin-1").decode("utf-8") == value

    listing = conn.get_container(cont)[1]
    assert [(e["name"], e["hash"]) for e in listing] == [(name, md5(body))]

    value2 = plaintexts.meta("\u0441\u0435\u043a\u0440\u0435\u0442 \u79d8\u5bc6 posted")
    conn.post_object(cont, name, headers={"X-Object-Meta-Utf8": value2,
                                          "X-Object-Meta-Other": "plain-ascii-other"})
    plaintexts.meta("plain-ascii-other")
    head = conn.head_object(cont, name)
    assert head["x-object-meta-utf8"] == value2
    assert head["x-object-meta-other"] == "plain-ascii-other"
    conn.delete_object(cont, name)
    conn.delete_container(cont)


def test_metadata_limits_apply_to_plaintext(conn, container, http, plaintexts):
    longest = plaintexts.meta("v" * 255 + "!")
    conn.put_object(container, "m", b"data", headers={"X-Object-Meta-Long": longest})
    assert conn.head_object(container, "m")["x-object-meta-long"] == longest
    many = {"X-Object-Meta-K%02d" % i: "value-%02d-xxxxxxxx" % i for i in range(90)}
    for value in many.values():
        plaintexts.meta(value)
    conn.put_object(container, "many", b"data", headers=many)
    head = conn.head_object(container, "many")
    assert sum(1 for h in head if h.startswith("x-object-meta-")) == 90
    resp = http.request("PUT", container, "toolong", data=b"data",
                        headers={"X-Object-Meta-Long": "v" * 257})
    assert resp.status_code == 400
    headers = dict(("X-Object-Meta-K%02d" % i, "v") for i in range(91))
    resp = http.request("PUT", container, "toomany", data=b"data", headers=headers)
    assert resp.status_code == 400


def test_zero_byte_objects(conn, http, container, plaintexts):
    value = plaintexts.meta("metadata-on-an-empty-object")
    etag = conn.put_object(container, "zero", b"", headers={"X-Object-Meta-Empty": value})
    assert etag == EMPTY_MD5
    headers, got = conn.get_object(container, "zero")
    assert got == b""
    assert headers["etag"] == EMPTY_MD5
    assert headers["content-length"] == "0"
    assert headers["x-object-meta-empty"] == value
    resp = http.request("GET", container, "zero", headers={"If-Match": EMPTY_MD5})
    assert resp.status_code == 200 and resp.content == b""
    resp = http.request("GET", container, "zero", headers={"If-None-Match": EMPTY_MD5})
    assert resp.status_code == 304
    resp = http.request("GET", container, "zero", headers={"Range": "bytes=0-10"})
    assert resp.status_code == 416 or (resp.status_code == 200 and resp.content == b"")
    assert [e["hash"] for e in conn.get_container(container)[1]] == [EMPTY_MD5]
    # chunked zero-byte PUT
    resp = http.request("PUT", container, "zero2", data=iter([b""]))
    assert resp.status_code == 201
    assert resp.headers["Etag"] == EMPTY_MD5
    assert conn.get_object(container, "zero2")[1] == b""
