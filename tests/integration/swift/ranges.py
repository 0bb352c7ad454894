"""Range checks against a real proxy, shared by the replicated and the
erasure-coded object tests."""

import email.parser
from swiftcrypt.common import checksums


def parse_byteranges(resp):
    """``[(Content-Range, payload)]`` of a multipart/byteranges response."""
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges")
    raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + resp.content
    msg = email.parser.BytesParser().parsebytes(raw)
    return [(part["Content-Range"], part.get_payload(decode=True))
            for part in msg.get_payload()]


def assert_single_ranges(http, cont, name, body, cases):
    """Each ``(spec, first, last)`` answers 206 with exactly those bytes, the
    right Content-Range and the plaintext etag; a range starting at the
    end answers 416."""
    size = len(body)
    etag = checksums.md5(body).hexdigest()
    for spec, first, last in cases:
        resp = http.request("GET", cont, name, headers={"Range": "bytes=" + spec})
        assert resp.status_code == 206, spec
        assert resp.content == body[first:last + 1], spec
        assert resp.headers["Content-Range"] == "bytes %d-%d/%d" % (first, last, size), spec
        assert resp.headers["Etag"] == etag, spec
    resp = http.request("GET", cont, name, headers={"Range": "bytes=%d-" % size})
    assert resp.status_code == 416


def assert_multi_range(http, cont, name, body, spans, spec):
    """GET with Range ``spec`` answers the parts ``spans`` ((first, last)
    pairs), in order, byte for byte."""
    size = len(body)
    resp = http.request("GET", cont, name, headers={"Range": "bytes=" + spec})
    assert resp.status_code == 206, spec
    parts = parse_byteranges(resp)
    assert [crange for crange, _data in parts] == [
        "bytes %d-%d/%d" % (first, last, size) for first, last in spans], spec
    assert [data for _crange, data in parts] == [
        body[first:last + 1] for first, last in spans], spec
