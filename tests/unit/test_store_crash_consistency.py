"""The store's change order (objects.py, ObjectHandlers._change): intent
and listing row first, then the files, then the intent cleared; start-up
settles what a crash left; a full disk at any write point changes nothing."""

import errno
import json
import os
import sqlite3

import pytest
from webob import Request

from swiftcrypt.common.checksums import md5
from swiftcrypt.store import db as dbmodule
from swiftcrypt.store import diskfile
from swiftcrypt.store.app import app_factory


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def app(data_dir):
    store = app_factory({}, data_dir=data_dir)
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    return store


def _req(app, method, path="/v1/a/c/o", body=None, **headers):
    req = Request.blank(path, method=method, headers=headers)
    if body is not None:
        req.body = body
    return req.get_response(app)


def _listing(app):
    resp = _req(app, "GET", "/v1/a/c?format=json")
    return {e["name"]: (e["hash"], e["bytes"], e["content_type"])
            for e in (json.loads(resp.body) if resp.status_int == 200 else [])}


def _path(app):
    return diskfile.object_path(app.objects_dir, "a", "c", "o")


def test_start_up_settles_an_intent_left_by_a_crash(app, data_dir):
    assert _req(app, "PUT", body=b"stored", **{"Content-Type": "x/y"}).status_int == 201
    # what a kill after the listing step of a PUT that never renamed leaves
    app.db.begin_change("a", "c", "o", (999, "0" * 32, "new/type", 5.0, None))
    app.db.begin_change("a", "c", "gone", (5, "1" * 32, "a/b", 5.0, None))  # a DELETE's
    assert _listing(app)["o"] == ("0" * 32, 999, "new/type")
    again = app_factory({}, data_dir=data_dir)
    assert _listing(again) == {"o": (md5(b"stored").hexdigest(), 6, "x/y")}
    assert again.db.pending_changes() == []


def test_changes_clear_their_intent(app):
    assert _req(app, "PUT", body=b"one").status_int == 201
    assert _req(app, "POST", **{"X-Object-Meta-A": "1"}).status_int == 202
    assert _req(app, "DELETE").status_int == 204
    assert app.db.pending_changes() == []


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# where a full disk can strike: writing or fsyncing a temp file, renaming
# it into place (a directory may need a block), the listing transaction; a
# DELETE writes only to the listing database
@pytest.mark.parametrize("method,point", [
    (method, point) for method in ("PUT", "POST") for point in ("write", "fsync", "rename",
                                                                 "listing")]
    + [("DELETE", "listing"), ("DELETE", "write")])
def test_full_disk_at_each_write_point_is_507_and_changes_nothing(app, monkeypatch, caplog,
                                                                   method, point):
    assert _req(app, "PUT", body=b"old body", **{"Content-Type": "old/type"}).status_int == 201
    before = _listing(app)
    files = sorted(os.listdir(os.path.dirname(_path(app))))
    if point == "write":
        monkeypatch.setattr(diskfile.os, "fdopen", _failing_fdopen(os.fdopen))
    elif point == "fsync":
        monkeypatch.setattr(diskfile.os, "fsync", _enospc)
    elif point == "rename":
        monkeypatch.setattr(diskfile.os, "rename", _enospc)
    else:
        monkeypatch.setattr(dbmodule.ListingDB, "begin_change", _full_db)
    caplog.clear()
    resp = _req(app, method, body=b"new body" if method == "PUT" else None,
                **{"Content-Type": "new/type"})
    monkeypatch.undo()
    if (method, point) != ("DELETE", "write"):
        assert resp.status_int == 507, resp.body
        assert _listing(app) == before
        assert sorted(os.listdir(os.path.dirname(_path(app)))) == files
        assert _req(app, "GET").body == b"old body"
        lines = [r for r in caplog.records if "no space left" in r.getMessage()]
        assert len(lines) == 1
    else:
        assert resp.status_int == 204
        assert _listing(app) == {}
    assert os.listdir(app.tmp_dir) == []
    assert app.db.pending_changes() == []


def _failing_fdopen(real):
    def fdopen(fd, *args, **kwargs):
        f = real(fd, *args, **kwargs)

        class Full:
            def __getattr__(self, name):
                return getattr(f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()
                return False

            def write(self, data):
                _enospc()
        return Full()
    return fdopen


def _full_db(*_args):
    raise OSError(errno.ENOSPC, "listing database: database or disk is full")


def test_listing_database_full_is_enospc_and_leaves_no_transaction_open(app, monkeypatch):
    calls = []
    real = app.db._conn

    class Full:
        def execute(self, sql, *args):
            calls.append(sql)
            if sql.startswith("INSERT"):
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(app.db, "_conn", Full())
    with pytest.raises(OSError) as err:
        app.db.put_object("a", "c", "x", 1, "e", "t", 1.0)
    assert err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert not real.in_transaction
    app.db.put_object("a", "c", "x", 1, "e", "t", 1.0)  # the next one works


def test_the_intent_is_committed_with_fsync_and_other_commits_are_not(app):
    # a power failure must not lose an intent once the files have changed;
    # what can be seen without cutting the power is the synchronous level
    # each commit runs at
    levels = []

    def trace(sql):
        if sql.startswith(("INSERT", "DELETE", "UPDATE")):
            levels.append((sql.split()[0:3], real.execute("PRAGMA synchronous").fetchone()[0]))
    real = app.db._conn
    real.set_trace_callback(trace)
    try:
        assert _req(app, "PUT", body=b"x").status_int == 201
    finally:
        real.set_trace_callback(None)
    full, normal = 2, 1
    assert (["INSERT", "OR", "REPLACE"], full) in levels  # the intent and row
    assert (["DELETE", "FROM", "pending"], normal) in levels  # clearing it
