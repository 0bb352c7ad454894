"""Expiry, reverse/path listings, If-Range and POST through the full
encrypting pipeline (`swiftcrypt serve`): the store's Swift behaviour with
the encryption filter in front of it."""

import hashlib
import os
import time

EXPIRY_WAIT = 15  # seconds: an object set to expire in 1-2 s must be gone by then


def _wait_gone(http, url):
    deadline = time.monotonic() + EXPIRY_WAIT
    while time.monotonic() < deadline:
        if http.head(url).status_code == 404:
            return True
        time.sleep(0.2)
    return False


def test_delete_after_expires_through_the_encrypter(container, http, markers):
    url = container + "/short-lived"
    body = os.urandom(5000)
    markers.add(body[100:132])
    meta = markers.new("expiring-meta")
    before = int(time.time())
    put = http.put(url, data=body, headers={"X-Delete-After": "2", "X-Object-Meta-M": meta})
    assert put.status_code == 201
    head = http.head(url)
    assert head.status_code == 200
    # the expiry passes the encrypter as it is: plain, and not user metadata
    delete_at = int(head.headers["X-Delete-At"])
    assert before + 2 <= delete_at <= int(time.time()) + 2
    assert head.headers["X-Object-Meta-M"] == meta
    assert "X-Delete-After" not in head.headers
    got = http.get(url)
    assert got.content == body and got.headers["X-Delete-At"] == str(delete_at)
    assert [e["name"] for e in http.get(container, params={"format": "json"}).json()] == \
        ["short-lived"]
    assert _wait_gone(http, url), "the object did not expire"
    assert http.get(url).status_code == 404
    assert http.post(url, headers={"X-Object-Meta-M": "x"}).status_code == 404
    assert http.get(container, params={"format": "json"}).json() == []
    assert http.head(container).headers["X-Container-Object-Count"] == "0"


def test_post_sets_expiry_with_encrypted_metadata(container, http, markers):
    url = container + "/posted-expiry"
    body = os.urandom(3000)
    markers.add(body[:32])
    assert http.put(url, data=body).status_code == 201
    meta = markers.new("posted-meta")
    at = int(time.time()) + 2
    post = http.post(url, headers={"X-Delete-At": str(at), "X-Object-Meta-P": meta})
    assert post.status_code == 202
    got = http.get(url)
    assert got.content == body
    assert got.headers["X-Delete-At"] == str(at) and got.headers["X-Object-Meta-P"] == meta
    assert _wait_gone(http, url), "the object did not expire"


def test_expiry_refusals_have_swifts_bodies(container, http):
    url = container + "/refused"
    resp = http.put(url, data=b"x", headers={"X-Delete-At": "tomorrow"})
    assert resp.status_code == 400 and resp.text.strip() == "Non-integer X-Delete-At"
    resp = http.put(url, data=b"x", headers={"X-Delete-At": str(int(time.time()) - 10)})
    assert resp.status_code == 400 and resp.text.strip() == "X-Delete-At in past"
    resp = http.put(url, data=b"x", headers={"X-Delete-After": "-1"})
    assert resp.status_code == 400 and resp.text.strip() == "X-Delete-After in past"
    assert http.head(url).status_code == 404
    assert http.put(url, data=b"x").status_code == 201
    resp = http.post(url, headers={"X-Delete-After": "soon"})
    assert resp.status_code == 400 and resp.text.strip() == "Non-integer X-Delete-After"


def test_remove_delete_at_keeps_the_object(container, http):
    url = container + "/reprieved"
    assert http.put(url, data=b"x", headers={"X-Delete-After": "2"}).status_code == 201
    assert http.post(url, headers={"X-Remove-Delete-At": "1"}).status_code == 202
    assert "X-Delete-At" not in http.head(url).headers
    time.sleep(2.5)
    assert http.get(url).content == b"x"


def test_reverse_and_path_listings_through_the_decrypter(container, http):
    names = ["a", "d/", "d/x", "d/y/z", "e"]
    for name in names:
        assert http.put(container + "/" + name, data=name.encode()).status_code == 201
    listed = http.get(container, params={"format": "json", "reverse": "true"}).json()
    assert [e["name"] for e in listed] == names[::-1]
    # listing etags are decrypted whatever the order
    assert listed[-1]["hash"] == hashlib.md5(b"a").hexdigest()
    listed = http.get(container, params={"format": "json", "path": "d"}).json()
    assert [e["name"] for e in listed] == ["d/x"]
    plain = http.get(container, params={"reverse": "1", "marker": "e", "end_marker": "a"})
    assert plain.text.splitlines() == ["d/y/z", "d/x", "d/"]


def test_if_range_through_the_encrypter(container, http, markers):
    url = container + "/ranged"
    body = os.urandom(4096)
    markers.add(body[2000:2032])
    assert http.put(url, data=body).status_code == 201
    head = http.head(url)
    resp = http.get(url, headers={"Range": "bytes=10-19",
                                  "If-Range": head.headers["Last-Modified"]})
    assert resp.status_code == 206 and resp.content == body[10:20]
    resp = http.get(url, headers={"Range": "bytes=10-19",
                                  "If-Range": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert resp.status_code == 200 and resp.content == body
    # the plaintext etag the client saw: the encrypter masks it as it does
    # If-Match, so the store can compare it with the stored Etag-Mac
    resp = http.get(url, headers={"Range": "bytes=10-19", "If-Range": head.headers["Etag"]})
    assert resp.status_code == 206 and resp.content == body[10:20]
    resp = http.get(url, headers={"Range": "bytes=10-19",
                                  "If-Range": "W/" + head.headers["Etag"]})
    assert resp.status_code == 200 and resp.content == body  # weak never matches
    resp = http.get(url, headers={"Range": "bytes=10-19", "If-Range": '"0000"'})
    assert resp.status_code == 200 and resp.content == body
