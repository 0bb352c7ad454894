"""Container and account listings, and container/account metadata."""

import os
import uuid
import xml.etree.ElementTree as ET

import pytest
from swiftcrypt.common.checksums import md5_hex

NAMES = ["a", "a/b", "a/c/d", "b", "b-c", "c/d", "c/e/f", "d"]


@pytest.fixture
def filled(container, http, markers):
    bodies = {}
    for name in NAMES:
        body = os.urandom(100 + len(bodies))
        markers.add(body[40:72])
        bodies[name] = body
        assert http.put(container + "/" + name, data=body,
                        headers={"Content-Type": "text/x-%d" % len(name)}).status_code == 201
    return container, bodies


def _json(http, url, **params):
    resp = http.get(url, params=dict(params, format="json"))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


def _names(entries):
    return [e.get("name", e.get("subdir")) for e in entries]


def test_json_listing_shows_plaintext_md5(filled, http):
    url, bodies = filled
    listing = _json(http, url)
    assert _names(listing) == NAMES
    for entry in listing:
        body = bodies[entry["name"]]
        assert entry["hash"] == md5_hex(body)
        assert entry["bytes"] == len(body)
        assert entry["content_type"] == "text/x-%d" % len(entry["name"])
        assert entry["last_modified"][:2] == "20" and "T" in entry["last_modified"]


def test_plain_listing_is_default(filled, http):
    url, _ = filled
    resp = http.get(url)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text.splitlines() == NAMES


def test_xml_listing(filled, http):
    url, bodies = filled
    resp = http.get(url, params={"format": "xml"})
    root = ET.fromstring(resp.content)
    names = [o.find("name").text for o in root.findall("object")]
    assert names == NAMES
    hashes = [o.find("hash").text for o in root.findall("object")]
    assert hashes == [md5_hex(bodies[n]) for n in NAMES]


@pytest.mark.parametrize("params,expected", [
    ({"prefix": "a"}, ["a", "a/b", "a/c/d"]),
    ({"prefix": "b"}, ["b", "b-c"]),
    ({"delimiter": "/"}, ["a", "a/", "b", "b-c", "c/", "d"]),
    ({"prefix": "a/", "delimiter": "/"}, ["a/b", "a/c/"]),
    ({"prefix": "c/", "delimiter": "/"}, ["c/d", "c/e/"]),
    ({"marker": "b"}, ["b-c", "c/d", "c/e/f", "d"]),
    ({"end_marker": "b-c"}, ["a", "a/b", "a/c/d", "b"]),
    ({"marker": "a/b", "end_marker": "c/e/f"}, ["a/c/d", "b", "b-c", "c/d"]),
    ({"limit": "3"}, ["a", "a/b", "a/c/d"]),
    ({"limit": "3", "marker": "a/c/d"}, ["b", "b-c", "c/d"]),
    ({"delimiter": "/", "limit": "3"}, ["a", "a/", "b"]),
    ({"delimiter": "/", "marker": "a/"}, ["b", "b-c", "c/", "d"]),
    ({"prefix": "zz"}, []),
])
def test_listing_queries(filled, http, params, expected):
    url, _ = filled
    assert _names(_json(http, url, **params)) == expected
    plain = http.get(url, params=params)
    assert plain.text.splitlines() == expected
    assert plain.status_code == (200 if expected else 204)


def test_limit_over_maximum_is_412(filled, http):
    url, _ = filled
    assert http.get(url, params={"limit": "10001"}).status_code == 412
    assert http.get(url, params={"limit": "x"}).status_code == 400


def test_container_metadata_and_stats(container, http):
    value = "owner-" + uuid.uuid4().hex  # container metadata is plain, as in Swift
    assert http.post(container, headers={"X-Container-Meta-Owner": value}).status_code == 204
    assert http.put(container + "/o", data=b"12345").status_code == 201
    head = http.head(container)
    assert head.status_code == 204
    assert head.headers["X-Container-Meta-Owner"] == value
    assert head.headers["X-Container-Object-Count"] == "1"
    assert head.headers["X-Container-Bytes-Used"] == "5"
    assert http.put(container, headers={"X-Container-Meta-Other": "x"}).status_code == 202
    head = http.head(container)
    assert head.headers["X-Container-Meta-Owner"] == value
    assert head.headers["X-Container-Meta-Other"] == "x"
    assert http.post(container, headers={"X-Remove-Container-Meta-Owner": "1"}).status_code == 204
    assert "X-Container-Meta-Owner" not in http.head(container).headers


def test_delete_non_empty_container_is_409(container, http):
    assert http.put(container + "/o", data=b"x").status_code == 201
    assert http.delete(container).status_code == 409
    assert http.delete(container + "/o").status_code == 204
    assert http.delete(container).status_code == 204
    assert http.head(container).status_code == 404
    assert http.get(container).status_code == 404


def test_account_listing_and_metadata(server, http):
    account = "%s/v1/AUTH_acct%s" % (server.url, uuid.uuid4().hex[:8])
    head = http.head(account)  # auto-created
    assert head.status_code == 204
    assert head.headers["X-Account-Container-Count"] == "0"
    for name in ("one", "two", "three"):
        assert http.put(account + "/" + name).status_code == 201
    assert http.put(account + "/two/obj", data=b"abc").status_code == 201
    listing = _json(http, account)
    assert _names(listing) == ["one", "three", "two"]
    assert [(e["count"], e["bytes"]) for e in listing] == [(0, 0), (0, 0), (1, 3)]
    assert http.get(account).text.splitlines() == ["one", "three", "two"]
    assert _names(_json(http, account, prefix="t", limit="1")) == ["three"]
    assert http.post(account, headers={"X-Account-Meta-Team": "blue"}).status_code == 204
    head = http.head(account)
    assert head.headers["X-Account-Meta-Team"] == "blue"
    assert head.headers["X-Account-Container-Count"] == "3"
    assert head.headers["X-Account-Object-Count"] == "1"
    assert head.headers["X-Account-Bytes-Used"] == "3"
    assert http.delete(account).status_code == 409
