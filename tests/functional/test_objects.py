"""Object PUT/GET/HEAD/POST/DELETE through the full encrypting pipeline."""

import os
import socket
import time
import uuid
from urllib.parse import quote, urlsplit

import requests

from tests.functional.conftest import temp_files
from swiftcrypt.common import checksums


def _body(markers, size=4096):
    body = os.urandom(size)
    if size >= 32:
        markers.add(body[size // 2 - 16:size // 2 + 16])
    return body


def test_put_get_head_delete_round_trip(container, http, markers):
    body = _body(markers)
    meta = markers.new("meta")
    url = container + "/obj"
    put = http.put(url, data=body, headers={"X-Object-Meta-Color": meta,
                                            "Content-Type": "application/x-test"})
    assert put.status_code == 201
    md5 = checksums.md5(body).hexdigest()
    assert put.headers["Etag"].strip('"') == md5

    got = http.get(url)
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["Etag"].strip('"') == md5
    assert got.headers["X-Object-Meta-Color"] == meta
    assert got.headers["Content-Type"] == "application/x-test"
    assert got.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in got.headers and "X-Timestamp" in got.headers
    assert not [h for h in got.headers if h.lower().startswith(("x-object-sysmeta",
                                                                "x-object-transient"))]

    head = http.head(url)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(body))
    assert head.headers["Etag"].strip('"') == md5
    assert head.headers["X-Object-Meta-Color"] == meta

    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404
    assert http.head(url).status_code == 404
    assert http.delete(url).status_code == 404


def test_put_replaces_previous_version(container, http, markers):
    url = container + "/versioned"
    first, second = _body(markers, 1000), _body(markers, 3000)
    assert http.put(url, data=first, headers={"X-Object-Meta-A": markers.new()}).status_code == 201
    assert http.put(url, data=second).status_code == 201
    got = http.get(url)
    assert got.content == second
    assert "X-Object-Meta-A" not in got.headers


def test_put_into_missing_container_is_404(server, http):
    url = "%s/v1/AUTH_test/nope-%s/o" % (server.url, uuid.uuid4().hex)
    assert http.put(url, data=b"x").status_code == 404


def test_zero_byte_object(container, http):
    url = container + "/empty"
    put = http.put(url, data=b"")
    assert put.status_code == 201
    assert put.headers["Etag"].strip('"') == checksums.md5(b"").hexdigest()
    got = http.get(url)
    assert got.status_code == 200 and got.content == b""
    assert got.headers["Etag"].strip('"') == checksums.md5(b"").hexdigest()
    listing = http.get(container, params={"format": "json"}).json()
    assert [(e["name"], e["hash"], e["bytes"]) for e in listing] == [
        ("empty", checksums.md5(b"").hexdigest(), 0)]


def test_chunked_upload(container, http, markers):
    chunks = [_body(markers, n) for n in (1, 65536, 70000, 13)]
    url = container + "/chunked"
    put = http.put(url, data=iter(chunks))  # a generator: Transfer-Encoding: chunked
    assert put.request.headers.get("Transfer-Encoding") == "chunked"
    assert put.status_code == 201
    whole = b"".join(chunks)
    assert put.headers["Etag"].strip('"') == checksums.md5(whole).hexdigest()
    assert http.get(url).content == whole


def test_client_etag_mismatch_is_422_and_nothing_stored(container, http, markers):
    url = container + "/mismatch"
    body = _body(markers)
    put = http.put(url, data=body, headers={"Etag": checksums.md5(b"other").hexdigest()})
    assert put.status_code == 422
    assert http.get(url).status_code == 404
    assert http.get(container, params={"format": "json"}).json() == []


def test_client_etag_mismatch_keeps_previous_version(container, http, markers):
    url = container + "/keep"
    body = _body(markers)
    assert http.put(url, data=body).status_code == 201
    bad = http.put(url, data=_body(markers), headers={"Etag": "0" * 32})
    assert bad.status_code == 422
    assert http.get(url).content == body


def test_client_etag_match_is_accepted(container, http, markers):
    body = _body(markers)
    put = http.put(container + "/match", data=body,
                   headers={"Etag": '"%s"' % checksums.md5(body).hexdigest()})
    assert put.status_code == 201


def test_utf8_names_and_metadata(container, http, markers):
    name = "dir/ünïcødé 名前 \U0001f600.txt"
    url = container + "/" + quote(name)
    value = "värde-" + markers.new("utf8") + "-日本"
    markers.add(value.encode("utf-8"))
    body = _body(markers)
    put = http.put(url, data=body,
                   headers={"X-Object-Meta-Word": value.encode("utf-8")})
    assert put.status_code == 201, put.text
    got = http.get(url)
    assert got.status_code == 200 and got.content == body
    assert got.headers["X-Object-Meta-Word"].encode("latin-1").decode("utf-8") == value
    listing = http.get(container, params={"format": "json"}).json()
    assert [e["name"] for e in listing] == [name]
    assert http.get(container).content.decode("utf-8") == name + "\n"


def test_non_utf8_name_is_rejected(container, http):
    resp = http.put(container + "/bad%FFname", data=b"x")
    assert resp.status_code in (400, 412)
    assert "UTF8" in resp.text.replace("-", "")


def test_name_length_limits(container, http, server):
    assert http.put(container + "/" + "o" * 1025, data=b"x").status_code == 400
    assert http.put(container + "/" + "o" * 1024, data=b"x").status_code == 201
    long_container = "%s/v1/AUTH_test/%s" % (server.url, "c" * 257)
    resp = http.put(long_container)
    assert resp.status_code == 400 and "256" in resp.text


def test_post_replaces_user_metadata_keeps_body(container, http, markers):
    url = container + "/posted"
    body = _body(markers)
    old_a, old_b, new_c = markers.new(), markers.new(), markers.new()
    assert http.put(url, data=body, headers={
        "X-Object-Meta-A": old_a, "X-Object-Meta-B": old_b,
        "Content-Type": "text/old"}).status_code == 201
    post = http.post(url, headers={"X-Object-Meta-C": new_c, "Content-Type": "text/new"})
    assert post.status_code == 202
    got = http.get(url)
    assert got.content == body
    assert got.headers["X-Object-Meta-C"] == new_c
    assert "X-Object-Meta-A" not in got.headers and "X-Object-Meta-B" not in got.headers
    assert got.headers["Content-Type"] == "text/new"
    assert got.headers["Etag"].strip('"') == checksums.md5(body).hexdigest()
    listing = http.get(container, params={"format": "json"}).json()
    assert listing[0]["content_type"] == "text/new"
    assert listing[0]["hash"] == checksums.md5(body).hexdigest()


def test_post_to_missing_object_is_404(container, http):
    assert http.post(container + "/missing", headers={"X-Object-Meta-A": "b"}).status_code == 404


def test_client_cannot_forge_sysmeta(container, http, markers):
    url = container + "/forged"
    body = _body(markers)
    put = http.put(url, data=body, headers={"X-Object-Sysmeta-Crypto-Etag-Mac": "forged"})
    assert put.status_code == 201
    got = http.get(url, headers={"If-Match": "forged"})
    assert got.status_code == 412


def test_concurrent_reader_sees_whole_old_or_new_version(container, http, markers):
    url = container + "/atomic"
    old, new = _body(markers, 300000), _body(markers, 300000)
    assert http.put(url, data=old).status_code == 201
    with requests.get(url, stream=True) as reading:
        first = reading.raw.read(1000)
        assert http.put(url, data=new).status_code == 201
        rest = reading.raw.read()
    assert first + rest == old
    assert http.get(url).content == new


def test_client_disconnect_mid_put_keeps_previous_version(container, http, markers, server):
    url = container + "/interrupted"
    old = _body(markers, 5000)
    assert http.put(url, data=old).status_code == 201
    parts = urlsplit(url)
    partial = _body(markers, 70000)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                      % parts.path).encode("ascii") + partial)
    deadline = time.monotonic() + 30
    while temp_files(server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temp_files(server.data_dir) == []
    assert http.get(url).content == old
    listing = http.get(container, params={"format": "json"}).json()
    assert [(e["name"], e["bytes"]) for e in listing] == [("interrupted", 5000)]


def _raw_put(url, body, headers=()):
    """A PUT with exactly these headers: requests and curl may add a
    Content-Type of their own; this sends none unless given."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        lines = ["PUT %s HTTP/1.1" % parts.path, "Host: %s" % parts.netloc,
                 "Content-Length: %d" % len(body), "Connection: close"]
        lines += ["%s: %s" % h for h in headers]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_put_without_content_type_is_typed_from_the_name_as_swift_does(container, http):
    # eventlet fills a missing Content-Type with text/plain; Swift's proxy
    # guesses from the name instead, and so must serve
    cases = [("cat.jpg", (), "image/jpeg"),
             ("notes", (), "application/octet-stream"),
             ("page.html", (), "text/html"),
             ("cat2.jpg", (("Content-Type", "text/plain"),), "text/plain"),
             ("cat3.jpg", (("Content-Type", "text/x-mine"), ("X-Detect-Content-Type", "true")),
              "image/jpeg")]
    for name, headers, expected in cases:
        assert _raw_put(container + "/" + name, b"not really a picture", headers) == 201
        got = http.head(container + "/" + name)
        assert got.headers["Content-Type"] == expected, name
    listing = http.get(container + "?format=json").json()
    assert {e["name"]: e["content_type"] for e in listing} == {
        name: expected for name, _headers, expected in cases}
