"""A hostile client against `swiftcrypt serve` (the encrypting pipeline),
over raw sockets where an HTTP library would not send what it sends:
bad transfer codings, a malformed chunk, a huge Content-Length, and
Content-Type parameters only Swift itself may set."""

import os
import socket
import time
from urllib.parse import urlsplit

import pytest
from swiftcrypt.common.checksums import md5


def _raw(server, request, timeout=10):
    """Send ``request`` (bytes) on a new connection; the status code and
    the raw response, read until the server closes or ``timeout``."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None
    return status, data


def _put_head(container, name, *headers):
    path = urlsplit(container).path + "/" + name
    lines = ["PUT %s HTTP/1.1" % path, "Host: x", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


@pytest.mark.parametrize("coding,status", [("gzip, chunked", 501), ("gzip", 400)])
def test_transfer_coding_other_than_chunked_keeps_the_object(server, container, http,
                                                             coding, status):
    url = container + "/te"
    assert http.put(url, data=b"previous").status_code == 201
    got, _raw_response = _raw(server, _put_head(container, "te", "Transfer-Encoding: " + coding)
                              + b"5\r\nhello\r\n0\r\n\r\n")
    assert got == status
    assert http.get(url).content == b"previous"


def test_malformed_chunk_is_499_with_one_line_and_no_traceback(server, container, http):
    url = container + "/badchunk"
    assert http.put(url, data=b"previous").status_code == 201
    before = len(server.log_text())
    got, _raw_response = _raw(server, _put_head(container, "badchunk",
                                                "Transfer-Encoding: chunked")
                              + b"zz\r\nhello\r\n0\r\n\r\n")
    assert got == 499
    assert http.get(url).content == b"previous"
    time.sleep(0.2)
    log = server.log_text()[before:]
    assert "Traceback" not in log
    assert "not valid chunked encoding" in log


def test_content_length_over_5gib_is_413_without_waiting_for_the_body(server, container):
    # no body is sent: a server that waited for it would answer nothing
    # before the read times out, and the status would be None
    got, response = _raw(server, _put_head(container, "huge",
                                           "Content-Length: %d" % (6 * 10 ** 9)), timeout=5)
    assert got == 413, response


@pytest.mark.parametrize("ctype", [
    "text/plain;swift_bytes=%d" % 10 ** 30, "text/plain; charset=utf-8; swift_bytes=1",
    "text/plain;swift_other=x"])
def test_client_swift_parameter_in_content_type_is_refused(container, http, ctype):
    """As Swift's proxy: 400, and the object, the listing and the bytes
    used stay as they were (a client's swift_bytes changed the bytes used,
    and a huge one stored the object while the listing kept the old entry)."""
    url = container + "/sb"
    assert http.put(url, data=b"old").status_code == 201
    resp = http.put(url, data=b"12345", headers={"Content-Type": ctype})
    assert resp.status_code == 400
    assert "swift_* is not a valid parameter name" in resp.text
    assert http.get(url).content == b"old"
    assert http.head(container).headers["X-Container-Bytes-Used"] == "3"
    listed = http.get(container, params={"format": "json"}).json()
    assert [(e["name"], e["bytes"]) for e in listed] == [("sb", 3)]


def test_server_side_copy_through_serve(server, container, http, markers):
    body = os.urandom(70000)
    markers.add(body[5000:5040])
    meta = markers.new("copied-meta")
    src = container + "/src"
    assert http.put(src, data=body, headers={"X-Object-Meta-M": meta}).status_code == 201
    put = http.put(container + "/by-put", headers={"X-Copy-From": urlsplit(src).path[len(
        "/v1/AUTH_test/"):]})
    assert put.status_code == 201, put.text
    copy = http.request("COPY", src, headers={"Destination": urlsplit(container).path.rsplit(
        "/", 1)[1] + "/by-copy"})
    assert copy.status_code == 201, copy.text
    for name in ("by-put", "by-copy"):
        got = http.get(container + "/" + name)
        assert got.content == body
        assert got.headers["X-Object-Meta-M"] == meta
        assert got.headers["Etag"] == md5(body).hexdigest()


@pytest.mark.parametrize("params,headers", [
    ({}, {"X-Object-Manifest": "segments/part-"}),
    ({"multipart-manifest": "put"}, {}),
])
def test_large_object_manifests_are_refused_not_stored_empty(container, http, params, headers):
    url = container + "/manifest"
    assert http.put(url, data=b"kept").status_code == 201
    resp = http.put(url, params=params, headers=headers, data=b"[]")
    assert resp.status_code == 400
    assert "not supported" in resp.text
    assert http.get(url).content == b"kept"


def test_if_none_match_on_put_through_serve(container, http):
    url = container + "/inm"
    assert http.put(url, data=b"first", headers={"If-None-Match": "*"}).status_code == 201
    assert http.put(url, data=b"second", headers={"If-None-Match": "*"}).status_code == 412
    assert http.put(url, data=b"third", headers={"If-None-Match": '"abc"'}).status_code == 400
    assert http.get(url).content == b"first"


def test_container_metadata_limits_without_metadata_encryption(container, http):
    assert http.post(container, headers={"X-Container-Meta-Big": "v" * 257}).status_code == 400
    assert http.post(container, headers={
        "X-Container-Meta-%03d" % i: "v" for i in range(91)}).status_code == 400
    assert not [h for h in http.head(container).headers if h.lower().startswith(
        "x-container-meta-")]


def test_put_without_content_type_gets_the_type_its_name_says(server, container, http):
    """As Swift's proxy: the type is guessed from the name (eventlet's own
    'text/plain' for a request without Content-Type was stored instead);
    a copy without one takes the source's."""
    got, _response = _raw(server, _put_head(container, "photo.jpg", "Content-Length: 1") + b"x")
    assert got == 201
    assert http.head(container + "/photo.jpg").headers["Content-Type"] == "image/jpeg"
    got, _response = _raw(server, _put_head(container, "typed", "Content-Length: 1",
                                            "Content-Type: text/x-typed") + b"x")
    assert got == 201
    got, _response = _raw(server, _put_head(container, "copied", "Content-Length: 0",
                                            "X-Copy-From: %s/typed"
                                            % urlsplit(container).path.rsplit("/", 1)[1]))
    assert got == 201
    assert http.head(container + "/copied").headers["Content-Type"] == "text/x-typed"
