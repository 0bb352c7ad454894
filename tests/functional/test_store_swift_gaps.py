"""Expiry refusals, reverse/path listings, If-Range and POST through the full
encrypting pipeline (`swiftcrypt serve`): the store's Swift behaviour with
the encryption filter in front of it. (Expiry itself, on the store's
injected clock rather than real seconds: unit/test_store_expiry.py.)"""

import os
import time
from swiftcrypt.common import checksums


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


def test_reverse_and_path_listings_through_the_decrypter(container, http):
    names = ["a", "d/", "d/x", "d/y/z", "e"]
    for name in names:
        assert http.put(container + "/" + name, data=name.encode()).status_code == 201
    listed = http.get(container, params={"format": "json", "reverse": "true"}).json()
    assert [e["name"] for e in listed] == names[::-1]
    # listing etags are decrypted whatever the order
    assert listed[-1]["hash"] == checksums.md5(b"a").hexdigest()
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
