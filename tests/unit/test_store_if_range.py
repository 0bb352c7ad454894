"""If-Range on ranged GETs through the store app: a matching validator
gets the range (206), any other the whole object (200)."""

import email.utils
import math

import pytest
from webob import Request

from swiftcrypt.store.app import app_factory
from swiftcrypt.common import checksums

BODY = b"0123456789abcdef"
ETAG = checksums.md5(BODY).hexdigest()


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    req = Request.blank("/v1/a/c/o", method="PUT",
                        headers={"X-Object-Sysmeta-Mac": "mac+/="})
    req.body = BODY
    assert req.get_response(store).status_int == 201
    return store


def _get(app, method="GET", **headers):
    return Request.blank("/v1/a/c/o", method=method, headers=headers).get_response(app)


def _last_modified(app):
    return _get(app, "HEAD").headers["Last-Modified"]


@pytest.mark.parametrize("if_range", ['"%s"' % ETAG, ETAG])  # Swift's etags are bare
def test_matching_etag_gets_the_range(app, if_range):
    resp = _get(app, Range="bytes=2-4", **{"If-Range": if_range})
    assert resp.status_int == 206 and resp.body == b"234"
    assert resp.headers["Content-Range"] == "bytes 2-4/16"


def test_matching_date_gets_the_range(app):
    resp = _get(app, Range="bytes=-3", **{"If-Range": _last_modified(app)})
    assert resp.status_int == 206 and resp.body == b"def"


@pytest.mark.parametrize("if_range", ['"0123"', 'W/"%s"' % ETAG, "0123", "not a date"])
def test_other_etags_get_the_whole_object(app, if_range):
    resp = _get(app, Range="bytes=2-4", **{"If-Range": if_range})
    assert resp.status_int == 200 and resp.body == BODY
    assert "Content-Range" not in resp.headers


def test_other_date_gets_the_whole_object(app):
    earlier = email.utils.parsedate_to_datetime(_last_modified(app)).timestamp() - 1
    resp = _get(app, Range="bytes=2-4",
                **{"If-Range": email.utils.formatdate(math.floor(earlier), usegmt=True)})
    assert resp.status_int == 200 and resp.body == BODY


def test_unmatched_if_range_turns_416_and_multipart_into_200(app):
    resp = _get(app, Range="bytes=100-", **{"If-Range": '"other"'})
    assert resp.status_int == 200 and resp.body == BODY
    resp = _get(app, Range="bytes=0-1,4-5", **{"If-Range": '"other"'})
    assert resp.status_int == 200 and resp.body == BODY
    resp = _get(app, Range="bytes=0-1,4-5", **{"If-Range": '"%s"' % ETAG})
    assert resp.status_int == 206
    assert resp.headers["Content-Type"].startswith("multipart/byteranges")


def test_if_range_without_range_is_ignored(app):
    resp = _get(app, **{"If-Range": '"other"'})
    assert resp.status_int == 200 and resp.body == BODY


def test_if_range_compares_the_etag_is_at_value(app):
    # what an etag-masking filter sends: the client's tag and its MAC
    at = {"X-Backend-Etag-Is-At": "X-Object-Sysmeta-Mac"}
    resp = _get(app, Range="bytes=0-0", **at, **{"If-Range": '"plain", "mac+/="'})
    assert resp.status_int == 206 and resp.body == b"0"
    resp = _get(app, Range="bytes=0-0", **at, **{"If-Range": '"%s"' % ETAG})
    assert resp.status_int == 200


def test_preconditions_come_before_if_range(app):
    resp = _get(app, Range="bytes=0-0", **{"If-Range": '"%s"' % ETAG,
                                           "If-None-Match": '"%s"' % ETAG})
    assert resp.status_int == 304
