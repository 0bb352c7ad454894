"""Ranges and conditional requests through the encrypting pipeline."""

import email.utils
import os
import re
import time

import pytest

from swiftcrypt.store import diskfile
from swiftcrypt.common.checksums import md5_hex


@pytest.fixture
def stored(container, http, markers):
    body = os.urandom(10000)
    markers.add(body[5000:5032])
    url = container + "/ranged"
    assert http.put(url, data=body, headers={"Content-Type": "application/x-r"}).status_code == 201
    return url, body


@pytest.mark.parametrize("spec,first,last", [
    ("bytes=0-0", 0, 0),
    ("bytes=17-4000", 17, 4000),
    ("bytes=9990-", 9990, 9999),
    ("bytes=-25", 9975, 9999),
    ("bytes=9000-20000", 9000, 9999),
    ("bytes=-20000", 0, 9999),
])
def test_single_range(stored, http, spec, first, last):
    url, body = stored
    resp = http.get(url, headers={"Range": spec})
    assert resp.status_code == 206
    assert resp.content == body[first:last + 1]
    assert resp.headers["Content-Range"] == "bytes %d-%d/%d" % (first, last, len(body))
    assert resp.headers["Etag"].strip('"') == md5_hex(body)


def _parts(resp):
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges")
    boundary = re.search(r"boundary=([^;\s]+)", ctype).group(1).encode()
    parts = []
    for chunk in resp.content.split(b"--" + boundary)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        found = re.search(rb"Content-Range: bytes (\d+)-(\d+)/(\d+)", head)
        parts.append((int(found.group(1)), int(found.group(2)), data[:-2]))
    assert resp.content.endswith(b"--" + boundary + b"--")
    return parts


def test_multi_range(stored, http):
    url, body = stored
    resp = http.get(url, headers={"Range": "bytes=0-9,100-199,-10,5000-"})
    assert resp.status_code == 206
    parts = _parts(resp)
    assert [(a, b) for a, b, _ in parts] == [(0, 9), (100, 199), (9990, 9999), (5000, 9999)]
    for first, last, data in parts:
        assert data == body[first:last + 1]


def test_unsatisfiable_range_is_416(stored, http):
    url, body = stored
    resp = http.get(url, headers={"Range": "bytes=10000-"})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == "bytes */%d" % len(body)


def test_multi_range_with_one_satisfiable_is_single(stored, http):
    url, body = stored
    resp = http.get(url, headers={"Range": "bytes=20000-30000,5-9"})
    assert resp.status_code == 206
    assert resp.content == body[5:10]
    assert resp.headers["Content-Range"] == "bytes 5-9/10000"


def test_if_match(stored, http):
    url, body = stored
    etag = md5_hex(body)
    assert http.get(url, headers={"If-Match": '"%s"' % etag}).status_code == 200
    assert http.get(url, headers={"If-Match": '"nope", "%s"' % etag}).content == body
    assert http.get(url, headers={"If-Match": "*"}).status_code == 200
    assert http.get(url, headers={"If-Match": '"%s"' % ("0" * 32)}).status_code == 412
    assert http.head(url, headers={"If-Match": '"%s"' % ("0" * 32)}).status_code == 412


def test_ciphertext_etag_does_not_match(stored, http, server):
    # The store keeps the MD5 of the ciphertext; conditionals must compare
    # the plaintext etag (through its MAC), so the stored MD5 never matches.
    url, body = stored
    account, cont, obj = url.split("/v1/", 1)[1].split("/", 2)
    path = diskfile.object_path(os.path.join(server.data_dir, "objects"), account, cont, obj)
    stored_file = diskfile.ObjectFile.open(path)
    try:
        cipher_etag = stored_file.header["etag"]
    finally:
        stored_file.close()
    assert cipher_etag != md5_hex(body)
    assert http.get(url, headers={"If-Match": '"%s"' % cipher_etag}).status_code == 412
    assert http.get(url, headers={"If-None-Match": '"%s"' % cipher_etag}).status_code == 200


def test_if_none_match(stored, http):
    url, body = stored
    etag = md5_hex(body)
    resp = http.get(url, headers={"If-None-Match": etag})
    assert resp.status_code == 304 and resp.content == b""
    assert resp.headers["Etag"].strip('"') == etag
    assert http.get(url, headers={"If-None-Match": '"%s"' % ("1" * 32)}).status_code == 200
    assert http.get(url, headers={"If-None-Match": "*"}).status_code == 304


def test_if_modified_since(stored, http):
    url, _body = stored
    last_modified = http.head(url).headers["Last-Modified"]
    assert http.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = email.utils.formatdate(time.time() - 3600 * 24 * 400, usegmt=True)
    assert http.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    assert http.get(url, headers={"If-Unmodified-Since": earlier}).status_code == 412
    assert http.get(url, headers={"If-Unmodified-Since": last_modified}).status_code == 200


def test_range_with_if_match(stored, http):
    url, body = stored
    etag = md5_hex(body)
    resp = http.get(url, headers={"Range": "bytes=1-3", "If-Match": etag})
    assert resp.status_code == 206 and resp.content == body[1:4]
