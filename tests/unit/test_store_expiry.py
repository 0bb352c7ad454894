"""Object expiry in the store: X-Delete-At / X-Delete-After validation as
Swift does it, expired objects gone for GET/HEAD/POST/DELETE and listings,
and the reaper that frees their space."""

import os
import sqlite3
import time

import pytest
from webob import Request

from swiftcrypt.store import diskfile, expiry
from swiftcrypt.store.app import StoreApp
from swiftcrypt.store.db import ListingDB
from swiftcrypt.store.headers import HeaderDict
from tests.support.pipelines import encrypting_pipeline

NOW = 1700000000.25

# pure: the headers


@pytest.mark.parametrize("method,headers,expected", [
    ("PUT", {}, None),
    ("POST", {}, None),
    ("PUT", {"X-Delete-At": "1700000100"}, "1700000100"),
    ("PUT", {"X-Delete-At": " 1700000100 "}, "1700000100"),
    ("PUT", {"X-Delete-At": "99999999999"}, "9999999999"),  # capped, as Swift
    ("PUT", {"X-Delete-After": "60"}, "1700000060"),
    ("PUT", {"X-Delete-After": "1"}, "1700000001"),
    ("PUT", {"X-Delete-After": "60", "X-Delete-At": "1800000000"}, "1700000060"),
    ("PUT", {"X-Delete-At": ""}, None),
    ("POST", {"X-Delete-At": " "}, None),
    ("POST", {"X-Remove-Delete-At": "1"}, None),
    ("POST", {"X-Remove-Delete-At": "x", "X-Delete-At": "1800000000"}, None),
    ("PUT", {"X-Remove-Delete-At": "1", "X-Delete-At": "1800000000"}, "1800000000"),
    ("POST", {"X-Remove-Delete-At": "1", "X-Delete-After": "5"}, "1700000005"),
])
def test_requested_delete_at(method, headers, expected):
    assert expiry.requested_delete_at(HeaderDict(headers), NOW, method) == expected


@pytest.mark.parametrize("headers,message", [
    ({"X-Delete-At": "soon"}, "Non-integer X-Delete-At"),
    ({"X-Delete-At": "1700000100.5"}, "Non-integer X-Delete-At"),
    ({"X-Delete-At": "1700000000"}, "X-Delete-At in past"),
    ({"X-Delete-At": "1600000000"}, "X-Delete-At in past"),
    ({"X-Delete-At": "-5"}, "X-Delete-At in past"),
    ({"X-Delete-After": "ten"}, "Non-integer X-Delete-After"),
    ({"X-Delete-After": ""}, "Non-integer X-Delete-After"),
    ({"X-Delete-After": "0"}, "X-Delete-After in past"),
    ({"X-Delete-After": "-1"}, "X-Delete-After in past"),
    ({"X-Delete-After": "soon", "X-Delete-At": "1800000000"}, "Non-integer X-Delete-After"),
])
def test_refused_expiry(headers, message):
    for method in ("PUT", "POST"):
        with pytest.raises(expiry.BadExpiry) as err:
            expiry.requested_delete_at(HeaderDict(headers), NOW, method)
        assert str(err.value) == message


def test_is_expired():
    assert expiry.is_expired({"X-Delete-At": "1700000000"}, NOW)
    assert expiry.is_expired(HeaderDict({"x-delete-at": "1700000000"}), 1700000000)
    assert not expiry.is_expired({"X-Delete-At": "1700000001"}, NOW)
    assert not expiry.is_expired({}, NOW)
    assert not expiry.is_expired({"X-Delete-At": "garbage"}, NOW)


# the app, on a clock the tests move


class Clock:
    """The store's clock (StoreApp's ``clock``), moved by the test."""

    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(tmp_path, clock):
    store = StoreApp(str(tmp_path / "data"), clock=clock)
    assert _req(store, "PUT", "/v1/a/c").status_int == 201
    return store


def _req(app, method, path, body=None, **headers):
    req = Request.blank(path, method=method, headers=headers)
    if body is not None:
        req.body = body
    return req.get_response(app)


def _put(app, name="o", body=b"data", **headers):
    return _req(app, "PUT", "/v1/a/c/" + name, body, **headers)


def _listed(app, container="c"):
    resp = _req(app, "GET", "/v1/a/%s?format=json" % container)
    return [row["name"] for row in resp.json] if resp.status_int == 200 else []


def _path(app, name="o"):
    return diskfile.object_path(app.objects_dir, "a", "c", name)


def test_the_store_reads_the_time_from_its_clock_only(app, clock):
    clock.now = NOW + 3600
    put = _put(app)
    assert put.headers["X-Timestamp"] == "1700003600.25000"
    assert _req(app, "HEAD", "/v1/a/c/o").headers["X-Timestamp"] == "1700003600.25000"
    assert StoreApp.__init__.__defaults__ == (time.time,)  # users get the real time


def test_put_with_delete_after_is_served_until_it_expires(app, clock):
    assert _put(app, **{"X-Delete-After": "60", "X-Object-Meta-A": "b"}).status_int == 201
    head = _req(app, "HEAD", "/v1/a/c/o")
    assert head.status_int == 200 and head.headers["X-Delete-At"] == "1700000060"
    assert _req(app, "GET", "/v1/a/c/o").headers["X-Delete-At"] == "1700000060"
    assert "X-Delete-After" not in head.headers
    clock.now = 1700000059.9
    assert _req(app, "GET", "/v1/a/c/o").body == b"data"
    clock.now = 1700000060
    for method in ("GET", "HEAD", "POST"):
        assert _req(app, method, "/v1/a/c/o").status_int == 404
    assert not os.path.exists(_path(app))  # removed when first asked for
    assert _listed(app) == []


def test_expired_object_leaves_listings_and_stats_before_any_reaping(app, clock):
    assert _put(app, "keep").status_int == 201
    assert _put(app, "gone", body=b"12345", **{"X-Delete-At": "1700000010"}).status_int == 201
    assert _listed(app) == ["gone", "keep"]
    clock.now += 10
    app.reaper.interval = 1e9  # no reaping: the queries alone must hide it
    app.reaper._next = clock.now + 1e9
    assert _listed(app) == ["keep"]
    assert os.path.exists(_path(app, "gone"))
    head = _req(app, "HEAD", "/v1/a/c")
    assert head.headers["X-Container-Object-Count"] == "1"
    assert head.headers["X-Container-Bytes-Used"] == "4"
    account = _req(app, "GET", "/v1/a?format=json").json
    assert account[0]["count"] == 1 and account[0]["bytes"] == 4
    assert _req(app, "HEAD", "/v1/a").headers["X-Account-Object-Count"] == "1"


def test_delete_of_an_expired_object_is_404_and_removes_it(app, clock):
    assert _put(app, **{"X-Delete-At": "1700000010"}).status_int == 201
    clock.now += 10
    assert _req(app, "DELETE", "/v1/a/c/o").status_int == 404
    assert not os.path.exists(_path(app))


def test_put_over_an_expired_object_starts_afresh(app, clock):
    assert _put(app, **{"X-Delete-At": "1700000010"}).status_int == 201
    clock.now += 10
    assert _put(app, body=b"new").status_int == 201
    got = _req(app, "GET", "/v1/a/c/o")
    assert got.body == b"new" and "X-Delete-At" not in got.headers
    assert _listed(app) == ["o"]


@pytest.mark.parametrize("headers,message", [
    ({"X-Delete-At": "soon"}, b"Non-integer X-Delete-At\n"),
    ({"X-Delete-At": "1699999999"}, b"X-Delete-At in past\n"),
    ({"X-Delete-After": "x"}, b"Non-integer X-Delete-After\n"),
    ({"X-Delete-After": "0"}, b"X-Delete-After in past\n"),
])
def test_bad_expiry_is_400_with_a_reason(app, headers, message):
    resp = _put(app, **headers)
    assert resp.status_int == 400 and resp.body == message
    assert _req(app, "GET", "/v1/a/c/o").status_int == 404
    assert os.listdir(app.tmp_dir) == []
    assert _put(app).status_int == 201
    resp = _req(app, "POST", "/v1/a/c/o", **headers)
    assert resp.status_int == 400 and resp.body == message
    # the 400 comes before the lookup, as in Swift's proxy
    assert _req(app, "POST", "/v1/a/c/missing", **headers).status_int == 400


def test_post_sets_changes_and_removes_expiry(app, clock):
    assert _put(app, **{"X-Delete-At": "1700000100", "X-Object-Meta-A": "1"}).status_int == 201

    def delete_at():
        return _req(app, "HEAD", "/v1/a/c/o").headers.get("X-Delete-At")

    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-After": "50"}).status_int == 202
    assert delete_at() == "1700000050"
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-At": "1700000200",
                                              "X-Object-Meta-B": "2"}).status_int == 202
    assert delete_at() == "1700000200"
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Remove-Delete-At": "1",
                                              "X-Object-Meta-B": "2"}).status_int == 202
    assert delete_at() is None
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-At": "1700000300"}).status_int == 202
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-At": ""}).status_int == 202
    assert delete_at() is None
    # as in Swift, a POST replaces the expiry with the rest of the metadata
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-At": "1700000300"}).status_int == 202
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Object-Meta-C": "3"}).status_int == 202
    assert delete_at() is None
    clock.now += 1000
    assert _req(app, "GET", "/v1/a/c/o").status_int == 200


def test_expiry_set_by_post_hides_the_object_when_due(app, clock):
    assert _put(app).status_int == 201
    assert _req(app, "POST", "/v1/a/c/o", **{"X-Delete-After": "5"}).status_int == 202
    assert _listed(app) == ["o"]
    clock.now += 5
    assert _listed(app) == []
    assert _req(app, "GET", "/v1/a/c/o").status_int == 404


def test_if_match_star_on_an_expired_object_is_412(app, clock):
    assert _put(app, **{"X-Delete-At": "1700000010"}).status_int == 201
    clock.now += 10
    assert _req(app, "GET", "/v1/a/c/o", **{"If-Match": "*"}).status_int == 412


def test_reaper_frees_objects_nobody_asks_for(app, clock):
    app.reaper.batch = 3
    for i in range(5):
        assert _put(app, "e%d" % i, **{"X-Delete-At": str(1700000010 + i)}).status_int == 201
    assert _put(app, "live").status_int == 201
    clock.now += 100
    assert _listed(app) == ["live"]  # this request reaps the first batch
    left = [n for n in ("e0", "e1", "e2", "e3", "e4") if os.path.exists(_path(app, n))]
    assert left == ["e3", "e4"]
    _listed(app)  # not yet time for the next run
    assert len([n for n in left if os.path.exists(_path(app, n))]) == 2
    clock.now += app.reaper.interval
    _listed(app)
    assert not any(os.path.exists(_path(app, n)) for n in left)
    assert os.path.exists(_path(app, "live"))
    assert app.db.expired_objects(clock.now, 10) == []


def test_reaper_keeps_an_object_whose_row_is_stale(app, clock):
    assert _put(app).status_int == 201
    # a row claiming an expiry its file does not have (a crash between writes)
    app.db.put_object("a", "c", "o", 4, "etag", "x/y", NOW, delete_at=int(NOW))
    clock.now += 1
    assert app.objects.reap_expired(clock.now, 10) == 0
    assert _req(app, "GET", "/v1/a/c/o").body == b"data"
    assert _listed(app) == ["o"]


def test_reaper_leaves_the_row_of_an_object_it_could_not_remove(app, clock, monkeypatch):
    assert _put(app, **{"X-Delete-At": "1700000010"}).status_int == 201
    clock.now += 10

    def refuse(_path, sync=True):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(diskfile, "remove", refuse)
    assert app.objects.reap_expired(clock.now, 10) == 0
    assert app.db.expired_objects(clock.now, 10) == [("a", "c", "o")]
    assert _listed(app) == []  # hidden all the same
    monkeypatch.undo()
    assert app.objects.reap_expired(clock.now, 10) == 1
    assert not os.path.exists(_path(app))


def test_reaper_failure_is_logged_not_raised(app, clock, monkeypatch, caplog):
    def broken(*_args):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(app.reaper, "_reap", broken)
    clock.now += app.reaper.interval
    assert _req(app, "HEAD", "/v1/a/c").status_int == 204
    assert "reaping expired objects failed" in caplog.text


def test_reaper_on_a_full_disk_logs_one_line_without_traceback(app, clock, monkeypatch,
                                                                caplog):
    def full(*_args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(app.reaper, "_reap", full)
    clock.now += app.reaper.interval
    assert _req(app, "HEAD", "/v1/a/c").status_int == 204
    lines = [r for r in caplog.records if "reaping expired objects failed" in r.getMessage()]
    assert len(lines) == 1 and "No space left" in lines[0].getMessage()
    assert lines[0].exc_info is None


def test_container_with_only_expired_objects_can_be_deleted(app, clock):
    assert _put(app, **{"X-Delete-At": "1700000010"}).status_int == 201
    assert _req(app, "DELETE", "/v1/a/c").status_int == 409
    clock.now += 10
    app.reaper._next = clock.now + 1e9
    assert _req(app, "DELETE", "/v1/a/c").status_int == 204
    assert not os.path.exists(_path(app))


def test_expiry_survives_a_restart_and_reaps_at_start(tmp_path, clock):
    data = str(tmp_path / "d")
    store = StoreApp(data, clock=clock)
    assert _req(store, "PUT", "/v1/a/c").status_int == 201
    assert _put(store, **{"X-Delete-At": "1700000010"}).status_int == 201
    store.db.close()
    clock.now += 10
    store = StoreApp(data, clock=clock)
    assert _req(store, "HEAD", "/v1/a/c").headers["X-Container-Object-Count"] == "0"
    assert not os.path.exists(_path(store))


def test_old_database_gains_the_delete_at_column(tmp_path):
    path = str(tmp_path / "listing.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE objects (account TEXT NOT NULL, container TEXT NOT NULL,"
                 " name TEXT NOT NULL, bytes INTEGER NOT NULL, hash TEXT NOT NULL,"
                 " content_type TEXT NOT NULL, timestamp REAL NOT NULL,"
                 " PRIMARY KEY (account, container, name))")
    conn.execute("INSERT INTO objects VALUES ('a', 'c', 'o', 1, 'h', 't', 1.0)")
    conn.commit()
    conn.close()
    db = ListingDB(path)
    assert db.container_stats("a", "c", NOW) == (1, 1)
    db.put_object("a", "c", "p", 2, "h", "t", 1.0, delete_at=int(NOW))
    assert db.container_stats("a", "c", NOW) == (1, 1)
    assert db.expired_objects(NOW, 10) == [("a", "c", "p")]
    db.close()


# through the encrypting pipeline (keymaster, encryption, store), on the
# store's clock: what tests/functional once waited for in real seconds

SECRET = "A" * 44


@pytest.fixture
def encrypted(tmp_path, clock):
    store = StoreApp(str(tmp_path / "data"), clock=clock)
    assert _req(store, "PUT", "/v1/a/c").status_int == 201
    return store, encrypting_pipeline(store, {"encryption_root_secret": SECRET})


def _on_disk(store, name):
    with open(_path(store, name), "rb") as f:
        return f.read()


def test_delete_after_expires_through_the_encrypter(encrypted, clock):
    store, app = encrypted
    body = os.urandom(5000)
    put = _put(app, "short-lived", body, **{"X-Delete-After": "2",
                                            "X-Object-Meta-M": "expiring-meta"})
    assert put.status_int == 201
    head = _req(app, "HEAD", "/v1/a/c/short-lived")
    # the expiry passes the encrypter as it is: plain, and not user metadata
    assert head.headers["X-Delete-At"] == "1700000002"
    assert head.headers["X-Object-Meta-M"] == "expiring-meta"
    assert "X-Delete-After" not in head.headers
    stored = _on_disk(store, "short-lived")
    assert body[100:132] not in stored and b"expiring-meta" not in stored
    got = _req(app, "GET", "/v1/a/c/short-lived")
    assert got.body == body and got.headers["X-Delete-At"] == "1700000002"
    assert _listed(app) == ["short-lived"]
    clock.now += 1.5
    assert _req(app, "GET", "/v1/a/c/short-lived").status_int == 200
    clock.now += 0.5
    assert _req(app, "GET", "/v1/a/c/short-lived").status_int == 404
    assert _req(app, "POST", "/v1/a/c/short-lived", **{"X-Object-Meta-M": "x"}).status_int \
        == 404
    assert _listed(app) == []
    assert _req(app, "HEAD", "/v1/a/c").headers["X-Container-Object-Count"] == "0"


def test_post_sets_expiry_with_encrypted_metadata(encrypted, clock):
    store, app = encrypted
    body = os.urandom(3000)
    assert _put(app, "posted-expiry", body).status_int == 201
    post = _req(app, "POST", "/v1/a/c/posted-expiry",
                **{"X-Delete-At": "1700000002", "X-Object-Meta-P": "posted-meta"})
    assert post.status_int == 202
    got = _req(app, "GET", "/v1/a/c/posted-expiry")
    assert got.body == body
    assert got.headers["X-Delete-At"] == "1700000002"
    assert got.headers["X-Object-Meta-P"] == "posted-meta"
    assert b"posted-meta" not in _on_disk(store, "posted-expiry")
    clock.now += 2
    assert _req(app, "GET", "/v1/a/c/posted-expiry").status_int == 404


def test_remove_delete_at_keeps_the_object(encrypted, clock):
    _store, app = encrypted
    assert _put(app, "reprieved", b"x", **{"X-Delete-After": "2"}).status_int == 201
    assert _req(app, "POST", "/v1/a/c/reprieved", **{"X-Remove-Delete-At": "1"}).status_int \
        == 202
    assert "X-Delete-At" not in _req(app, "HEAD", "/v1/a/c/reprieved").headers
    clock.now += 2.5
    assert _req(app, "GET", "/v1/a/c/reprieved").body == b"x"
