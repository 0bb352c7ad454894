"""Server-side copy in the standalone pipeline (gatekeeper copy keymaster
encryption store), as Swift's copy middleware answers it; the copy is
re-encrypted under its own keys."""

import base64

import pytest
from webob import Request

from swiftcrypt.crypto import cryptometa
from swiftcrypt.store.app import app_factory
from swiftcrypt.store.copy import ServerSideCopy
from swiftcrypt.store.gatekeeper import GateKeeper
from tests.support.pipelines import encrypting_pipeline
from swiftcrypt.common import checksums

KM_CONF = {"encryption_root_secret": base64.b64encode(b"K" * 32).decode()}


@pytest.fixture
def store(tmp_path):
    return app_factory({}, data_dir=str(tmp_path / "data"))


@pytest.fixture
def app(store):
    pipeline = GateKeeper(ServerSideCopy(encrypting_pipeline(store, KM_CONF)))
    for path in ("/v1/a/c", "/v1/a/c2", "/v1/b/c"):
        assert _req(pipeline, path, "PUT").status_int == 201
    return pipeline


def _req(app, path, method="GET", body=None, **headers):
    req = Request.blank(path, method=method, headers=headers)
    if body is not None:
        req.body = body
    return req.get_response(app)


def _stored(store, path):
    """The stored (encrypted) object as the bare store serves it."""
    return _req(store, path)


def _key_id_path(store, path):
    meta = cryptometa.load(_stored(store, path).headers["X-Object-Sysmeta-Crypto-Body-Meta"])
    return meta["key_id"]["path"]


def _source(app, body=b"the source body", path="/v1/a/c/src"):
    resp = _req(app, path, "PUT", body, **{
        "Content-Type": "text/x-src", "X-Object-Meta-Color": "blue",
        "Content-Disposition": "inline"})
    assert resp.status_int == 201
    return body


@pytest.mark.parametrize("dest,headers", [
    ("/v1/a/c/dst", {"X-Copy-From": "c/src"}),
    ("/v1/a/c2/dst", {"X-Copy-From": "/c/src"}),
    ("/v1/b/c/dst", {"X-Copy-From": "c/src", "X-Copy-From-Account": "a"}),
])
def test_put_with_x_copy_from_copies_body_and_metadata(app, store, dest, headers):
    body = _source(app)
    resp = _req(app, dest, "PUT", **headers)
    assert resp.status_int == 201, resp.body
    assert resp.headers["X-Copied-From"] == "c/src"
    assert resp.headers["X-Copied-From-Account"] == "a"
    assert "X-Copied-From-Last-Modified" in resp.headers
    assert resp.headers["X-Object-Meta-Color"] == "blue"  # as Swift's copy answers
    assert resp.headers["Etag"] == checksums.md5(body).hexdigest()
    got = _req(app, dest)
    assert got.body == body
    assert got.headers["Content-Type"] == "text/x-src"
    assert got.headers["X-Object-Meta-Color"] == "blue"
    assert got.headers["Content-Disposition"] == "inline"
    # a new object of its own: its own ciphertext, keys named for its path
    assert _stored(store, dest).body != _stored(store, "/v1/a/c/src").body
    assert _stored(store, dest).body != body
    assert _key_id_path(store, dest) == dest[3:]
    listed = _req(app, dest.rsplit("/", 1)[0] + "?format=json").json
    assert [(e["hash"], e["bytes"]) for e in listed if e["name"] == "dst"] == \
        [(checksums.md5(body).hexdigest(), len(body))]


def test_copy_method_with_destination(app):
    body = _source(app)
    resp = _req(app, "/v1/a/c/src", "COPY", Destination="c2/moved",
                **{"X-Object-Meta-Extra": "x"})
    assert resp.status_int == 201, resp.body
    assert resp.headers["X-Copied-From"] == "c/src"
    got = _req(app, "/v1/a/c2/moved")
    assert got.body == body
    assert got.headers["X-Object-Meta-Color"] == "blue"
    assert got.headers["X-Object-Meta-Extra"] == "x"
    across = _req(app, "/v1/a/c/src", "COPY", Destination="/c/o",
                  **{"Destination-Account": "b"})
    assert across.status_int == 201, across.body
    assert _req(app, "/v1/b/c/o").body == body
    assert _req(app, "/v1/a/c/src").body == body  # a copy, not a move


def test_request_headers_win_and_fresh_metadata_drops_the_sources(app):
    _source(app)
    resp = _req(app, "/v1/a/c/dst", "PUT", **{
        "X-Copy-From": "c/src", "Content-Type": "text/x-new",
        "X-Object-Meta-Color": "red"})
    assert resp.status_int == 201
    got = _req(app, "/v1/a/c/dst")
    assert got.headers["Content-Type"] == "text/x-new"
    assert got.headers["X-Object-Meta-Color"] == "red"
    fresh = _req(app, "/v1/a/c/fresh", "PUT", **{
        "X-Copy-From": "c/src", "X-Fresh-Metadata": "true", "X-Object-Meta-Size": "m"})
    assert fresh.status_int == 201
    got = _req(app, "/v1/a/c/fresh")
    assert "X-Object-Meta-Color" not in got.headers
    assert "Content-Disposition" not in got.headers
    assert got.headers["X-Object-Meta-Size"] == "m"
    assert got.headers["Content-Type"] == "text/x-src"  # as Swift: none given, the source's


def test_copy_of_a_range_copies_the_range(app):
    _source(app, b"0123456789")
    resp = _req(app, "/v1/a/c/part", "PUT", **{"X-Copy-From": "c/src", "Range": "bytes=2-4"})
    assert resp.status_int == 201
    assert _req(app, "/v1/a/c/part").body == b"234"


@pytest.mark.parametrize("method,headers,status", [
    ("PUT", {"X-Copy-From": "c/missing"}, 404),
    ("PUT", {"X-Copy-From": "just-a-name"}, 412),
    ("PUT", {"X-Copy-From": "c/"}, 412),
    ("PUT", {"X-Copy-From": "c/src", "X-Copy-From-Account": "a/b"}, 412),
    ("COPY", {}, 412),
    ("COPY", {"Destination": "nocontainer"}, 412),
])
def test_bad_copies_are_refused_and_store_nothing(app, method, headers, status):
    _source(app)
    path = "/v1/a/c/dst" if method == "PUT" else "/v1/a/c/src"
    resp = _req(app, path, method, **headers)
    assert resp.status_int == status, resp.body
    assert _req(app, "/v1/a/c/dst").status_int == 404


def test_copy_with_a_body_is_400(app):
    _source(app)
    resp = _req(app, "/v1/a/c/dst", "PUT", b"not empty", **{"X-Copy-From": "c/src"})
    assert resp.status_int == 400
    assert b"zero byte body" in resp.body
    assert _req(app, "/v1/a/c/dst").status_int == 404


def test_copy_onto_an_existing_object_replaces_it(app):
    body = _source(app)
    assert _req(app, "/v1/a/c/dst", "PUT", b"older").status_int == 201
    assert _req(app, "/v1/a/c/dst", "PUT", **{"X-Copy-From": "c/src"}).status_int == 201
    assert _req(app, "/v1/a/c/dst").body == body
    # If-None-Match: * applies to the source GET too, as in Swift (a 304)
    assert _req(app, "/v1/a/c/new", "PUT", **{"X-Copy-From": "c/src",
                                              "If-None-Match": "*"}).status_int == 304
