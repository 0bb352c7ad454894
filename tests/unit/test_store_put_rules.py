"""The store's PUT and POST refusals, as a Swift cluster answers them:
Transfer-Encoding, maximum object size, If-None-Match, and what the store
does not implement (server-side copy without the copy filter, large-object
manifests). Each refusal keeps the object that was there."""

import io

import pytest
from webob import Request

from swiftcrypt.store import creation
from swiftcrypt.store.app import app_factory


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    return store


def _put(app, body, path="/v1/a/c/o", **headers):
    req = Request.blank(path, method="PUT", headers=headers)
    req.body = body
    return req.get_response(app)


def _raw_put(app, body, path="/v1/a/c/o", **headers):
    """A PUT whose headers are exactly ``headers`` (no Content-Length added)."""
    environ = {"REQUEST_METHOD": "PUT", "wsgi.input": io.BytesIO(body)}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key] = value
    return Request.blank(path, environ=environ).get_response(app)


def _body(app, path="/v1/a/c/o"):
    return Request.blank(path).get_response(app).body


@pytest.mark.parametrize("coding,status", [
    ("gzip, chunked", 501),
    ("chunked, chunked", 501),
    ("identity,chunked", 501),
    ("gzip", 400),
    ("chunkedx", 400),
])
def test_transfer_encoding_other_than_chunked_is_refused_and_keeps_the_object(
        app, coding, status):
    assert _put(app, b"old").status_int == 201
    resp = _raw_put(app, b"5\r\nhello\r\n0\r\n\r\n", Transfer_Encoding=coding)
    assert resp.status_int == status, resp.body
    assert _body(app) == b"old"
    listed = Request.blank("/v1/a/c?format=json").get_response(app).json
    assert [(e["name"], e["bytes"]) for e in listed] == [("o", 3)]


def test_chunked_in_any_case_is_read_to_its_end(app):
    # the WSGI server decodes the chunks; the store reads to the end
    resp = _raw_put(app, b"hello", Transfer_Encoding="Chunked")
    assert resp.status_int == 201
    assert _body(app) == b"hello"


def test_content_length_over_swifts_maximum_is_413_before_the_body(app):
    class NeverRead(io.RawIOBase):
        def read(self, *_args):
            raise AssertionError("the body was read")

    req = Request.blank("/v1/a/c/big", method="PUT", environ={
        "wsgi.input": NeverRead(), "CONTENT_LENGTH": str(6 * 1024 ** 3)})
    resp = req.get_response(app)
    assert resp.status_int == 413
    assert b"too large" in resp.body
    exact = Request.blank("/v1/a/c/big", method="PUT", environ={
        "wsgi.input": NeverRead(), "CONTENT_LENGTH": str(creation.MAX_FILE_SIZE + 1)})
    assert exact.get_response(app).status_int == 413


def test_chunked_body_over_the_maximum_is_413_and_stores_nothing(app, monkeypatch):
    monkeypatch.setattr(creation, "MAX_FILE_SIZE", 10)
    assert _put(app, b"old").status_int == 201
    assert _raw_put(app, b"x" * 10, Transfer_Encoding="chunked").status_int == 201
    assert _raw_put(app, b"y" * 11, Transfer_Encoding="chunked").status_int == 413
    assert _body(app) == b"x" * 10


def test_if_none_match_star_refuses_to_replace(app):
    assert _put(app, b"first", If_None_Match="*").status_int == 201
    resp = _put(app, b"second", If_None_Match="*")
    assert resp.status_int == 412
    assert _body(app) == b"first"
    # a list holding * counts as *, as in Swift
    assert _put(app, b"third", If_None_Match='"abc", *').status_int == 412
    assert _body(app) == b"first"
    assert _put(app, b"new", path="/v1/a/c/o2", If_None_Match='"abc", *').status_int == 201


def test_if_none_match_etag_on_put_is_400(app):
    assert _put(app, b"first").status_int == 201
    resp = _put(app, b"second", If_None_Match='"%s"' % ("0" * 32))
    assert resp.status_int == 400
    assert b"If-None-Match only supports *" in resp.body
    assert _body(app) == b"first"


def test_if_none_match_star_checked_again_after_the_body(app):
    """A PUT that lands while another If-None-Match: * PUT reads its body
    wins; the slower one is refused, not stored over it."""

    class Racing(io.BytesIO):
        def __init__(self, data):
            super().__init__(data)
            self.raced = False

        def read(self, *args):
            if not self.raced:
                self.raced = True
                assert _put(app, b"raced in").status_int == 201
            return super().read(*args)

    req = Request.blank("/v1/a/c/o", method="PUT", headers={"If-None-Match": "*"},
                        environ={"wsgi.input": Racing(b"slow"), "CONTENT_LENGTH": "4"})
    assert req.get_response(app).status_int == 412
    assert _body(app) == b"raced in"


@pytest.mark.parametrize("path,headers", [
    ("/v1/a/c/o", {"X-Copy-From": "c/src"}),
    ("/v1/a/c/o", {"X-Object-Manifest": "c/seg_"}),
    ("/v1/a/c/o?multipart-manifest=put", {}),
    ("/v1/a/c/o", {"X-Static-Large-Object": "True"}),
])
def test_put_of_what_the_store_does_not_implement_is_400(app, path, headers):
    assert _put(app, b"old").status_int == 201
    resp = _put(app, b"[]", path=path, **headers)
    assert resp.status_int == 400
    assert resp.body.strip()
    assert _body(app) == b"old"


@pytest.mark.parametrize("header", ["X-Object-Manifest", "X-Static-Large-Object"])
def test_post_cannot_make_an_object_a_manifest(app, header):
    assert _put(app, b"data").status_int == 201
    resp = Request.blank("/v1/a/c/o", method="POST", headers={header: "c/seg_"}) \
        .get_response(app)
    assert resp.status_int == 400
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.body == b"data" and header not in got.headers


def test_copy_method_is_not_the_stores(app):
    assert _put(app, b"data").status_int == 201
    resp = Request.blank("/v1/a/c/o", method="COPY", headers={"Destination": "c/o2"}) \
        .get_response(app)
    assert resp.status_int == 405
    assert Request.blank("/v1/a/c/o2").get_response(app).status_int == 404


def test_client_swift_bytes_is_refused_an_internal_one_is_listed_not_counted(app):
    assert _put(app, b"old").status_int == 201
    assert _put(app, b"12345", Content_Type="text/plain;swift_bytes=99").status_int == 400
    # an internal writer (a re-key of a manifest) says it means it
    req = Request.blank("/v1/a/c/o", method="PUT", environ={
        "swift.content_type_overridden": True},
        headers={"Content-Type": "text/plain;swift_bytes=%d" % 10 ** 30})
    req.body = b"12345"
    assert req.get_response(app).status_int == 201
    for method in ("GET", "HEAD"):
        got = Request.blank("/v1/a/c/o", method=method).get_response(app)
        assert got.headers["Content-Type"] == "text/plain"  # as Swift's proxy shows it
    listed = Request.blank("/v1/a/c?format=json").get_response(app).json
    assert [(e["bytes"], e["content_type"]) for e in listed] == [(10 ** 30, "text/plain")]
    # the bytes used are the bytes stored, as Swift's container server counts
    head = Request.blank("/v1/a/c", method="HEAD").get_response(app)
    assert head.headers["X-Container-Bytes-Used"] == "5"
    assert Request.blank("/v1/a", method="HEAD").get_response(app) \
        .headers["X-Account-Bytes-Used"] == "5"
