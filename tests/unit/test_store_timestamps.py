"""The store honours a trusted internal ``X-Timestamp`` on PUT: an older
or equal one is refused with 409 (before the body and again at publish
time), a newer one is stored with its offset; clients cannot send one
through the gatekeeper."""

import os

import pytest
from webob import Request

from swiftcrypt.common import timestamps
from swiftcrypt.store.app import app_factory
from swiftcrypt.store.gatekeeper import GateKeeper


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    return store


def put(app, body, path="/v1/a/c/o", **headers):
    req = Request.blank(path, method="PUT", headers=headers)
    req.body = body
    return req.get_response(app)


def stamp(app, path="/v1/a/c/o"):
    resp = Request.blank(path, method="HEAD").get_response(app)
    assert resp.status_int == 200
    return resp.headers["X-Backend-Timestamp"]


def test_newer_offset_replaces_and_is_reported(app):
    assert put(app, b"one").status_int == 201
    old = stamp(app)
    bumped = timestamps.bumped(old)
    resp = put(app, b"two", **{"X-Timestamp": bumped})
    assert resp.status_int == 201
    assert stamp(app) == bumped
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.body == b"two" and got.headers["X-Timestamp"] == old.partition("_")[0]
    # the same timestamp again, or the original: refused, body kept
    for again in (bumped, old):
        resp = put(app, b"three", **{"X-Timestamp": again})
        assert resp.status_int == 409 and resp.headers["X-Backend-Timestamp"] == bumped
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"two"


def test_client_writes_after_the_read_win(app):
    assert put(app, b"one").status_int == 201
    read_at = stamp(app)
    assert put(app, b"client").status_int == 201
    resp = put(app, b"tool", **{"X-Timestamp": timestamps.bumped(read_at)})
    assert resp.status_int == 409
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"client"


def test_post_resets_the_offset(app):
    assert put(app, b"one").status_int == 201
    bumped = timestamps.bumped(stamp(app))
    assert put(app, b"two", **{"X-Timestamp": bumped}).status_int == 201
    assert Request.blank("/v1/a/c/o", method="POST").get_response(app).status_int == 202
    after = stamp(app)
    assert "_" not in after and timestamps.order_key(after) > timestamps.order_key(bumped)


def test_no_object_to_replace_is_a_conflict(app):
    resp = put(app, b"x", **{"X-Timestamp": "1700000000.00000_0000000000000001"})
    assert resp.status_int == 409
    assert Request.blank("/v1/a/c/o", method="HEAD").get_response(app).status_int == 404


def test_malformed_timestamp_is_400(app):
    assert put(app, b"one").status_int == 201
    assert put(app, b"x", **{"X-Timestamp": "soon"}).status_int == 400


class WriteWhileReading:
    """A request body during whose reading a client replaces the object."""

    def __init__(self, app, data):
        self.app = app
        self.data = data
        self.raced = False

    def read(self, size=-1):
        if not self.raced:
            self.raced = True
            assert put(self.app, b"client wrote meanwhile").status_int == 201
        data, self.data = self.data, b""
        return data


def test_write_landing_while_the_body_is_read_wins(app):
    assert put(app, b"one").status_int == 201
    req = Request.blank("/v1/a/c/o", method="PUT",
                        headers={"X-Timestamp": timestamps.bumped(stamp(app)),
                                 "Content-Length": "4"})
    req.environ["wsgi.input"] = WriteWhileReading(app, b"tool")
    assert req.get_response(app).status_int == 409
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"client wrote meanwhile"
    assert not os.listdir(app.tmp_dir)  # the refused body is gone


def test_gatekeeper_strips_client_timestamps(app):
    assert put(app, b"one").status_int == 201
    gated = GateKeeper(app)
    resp = put(gated, b"client", **{"X-Timestamp": "0000000001.00000"})
    assert resp.status_int == 201
    assert "X-Backend-Timestamp" not in resp.headers
    got = Request.blank("/v1/a/c/o").get_response(gated)
    assert got.body == b"client" and "X-Backend-Timestamp" not in got.headers
    assert float(got.headers["X-Timestamp"]) > 1


def test_the_store_writes_timestamps_in_the_one_normal_form():
    # store.http's own normalize_timestamp was a second copy of this
    assert timestamps.normalize(1.5) == "0000000001.50000"
    assert timestamps.normalize("1700000000.123456") == "1700000000.12346"
    for bad in (-1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            timestamps.normalize(bad)
