"""The store's answers to Range requests against swob's own, through the
app (status, Content-Range, Content-Length), GET and HEAD."""

import pytest
from swift.common import swob
from webob import Request

from swiftcrypt.store.app import app_factory

BODY = b"0123456789" * 10


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    req = Request.blank("/v1/a/c/o", method="PUT")
    req.body = BODY
    assert req.get_response(store).status_int == 201
    return store


def _swob(method, header):
    req = swob.Request.blank("/v1/a/c/o", method=method, headers={"Range": header})
    resp = swob.Response(body=BODY, conditional_response=True, request=req)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(headers)

    b"".join(resp(req.environ, start_response))
    return captured["status"], captured["headers"].get("Content-Range")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("header", [
    "bytes=0-9", "bytes=95-200", "bytes=100-", "bytes=-0", "bytes=5-2",
    "bytes=0-0,5-5", "bytes=0-50,10-60,20-70,30-80",
    "bytes=" + ",".join("%d-%d" % (i, i) for i in range(51)),
    "bytes=" + ",".join("%d-%d" % (i, i) for i in range(9, 0, -1)),
])
def test_status_and_content_range_match_swob(app, method, header):
    resp = Request.blank("/v1/a/c/o", method=method, headers={"Range": header}) \
        .get_response(app)
    status, content_range = _swob(method, header)
    assert resp.status_int == status
    if status != 206 or not content_range or "multipart" in resp.headers["Content-Type"]:
        return
    assert resp.headers["Content-Range"] == content_range
