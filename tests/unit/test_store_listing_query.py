"""Listing query parameters through the store app and its SQLite source:
reverse=, path= (Swift's legacy path listing)."""

from urllib.parse import quote

import pytest
from webob import Request

from swiftcrypt.store.app import app_factory

NAMES = ["a", "d/", "d/a", "d/b/", "d/b/x", "d/b0", "d0", "é"]


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    for container in ("c", "c2", "c3"):
        assert Request.blank("/v1/a/" + container, method="PUT").get_response(
            store).status_int == 201
    for name in NAMES:
        req = Request.blank("/v1/a/c/" + quote(name), method="PUT")
        req.body = b"x"
        assert req.get_response(store).status_int == 201
    return store


def _names(app, path):
    resp = Request.blank(path).get_response(app)
    assert resp.status_int in (200, 204)
    return [e.get("name", e.get("subdir")) for e in resp.json] if resp.status_int == 200 \
        else []


@pytest.mark.parametrize("query,expected", [
    ("reverse=true", NAMES[::-1]),
    ("reverse=on&limit=2", ["é", "d0"]),
    ("reverse=false", NAMES),
    ("reverse=true&marker=d0&end_marker=d/a", ["d/b0", "d/b/x", "d/b/"]),
    ("reverse=true&prefix=d/&delimiter=/", ["d/b0", "d/b/", "d/a", "d/"]),
    ("reverse=true&delimiter=/", ["é", "d0", "d/", "a"]),
    ("path=d", ["d/a", "d/b/", "d/b0"]),
    ("path=d/&reverse=1", ["d/b0", "d/b/", "d/a"]),
    ("path=", ["a", "d/", "d0", "é"]),
    ("path=d&marker=d/a&prefix=x&delimiter=-", ["d/b/", "d/b0"]),
])
def test_container_listing_query(app, query, expected):
    assert _names(app, "/v1/a/c?format=json&" + query) == expected


def test_reverse_paging_with_marker_walks_everything_once(app):
    seen, marker = [], ""
    while True:
        page = _names(app, "/v1/a/c?format=json&reverse=true&limit=3&marker="
                      + quote(marker))
        if not page:
            break
        seen += page
        marker = page[-1]
    assert seen == NAMES[::-1]


def test_account_listing_reverse(app):
    assert _names(app, "/v1/a?format=json&reverse=true") == ["c3", "c2", "c"]
    assert _names(app, "/v1/a?format=json&reverse=true&marker=c3&end_marker=c") == ["c2"]
    # path= is a container-server parameter: accounts list as if it were absent
    assert _names(app, "/v1/a?format=json&path=zzz") == ["c", "c2", "c3"]
