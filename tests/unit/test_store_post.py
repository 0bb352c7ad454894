"""Object POST writes only a metadata sidecar: cost independent of the
object's size, atomic, and consistent with concurrent GETs and PUTs."""

import json
import os
import threading

import pytest
from webob import Request

from swiftcrypt.store import diskfile
from swiftcrypt.store.app import app_factory
from swiftcrypt.common import checksums


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    return store


def _put(app, body, **headers):
    req = Request.blank("/v1/a/c/o", method="PUT", headers=headers)
    req.body = body
    return req.get_response(app)


def _post(app, **headers):
    return Request.blank("/v1/a/c/o", method="POST", headers=headers).get_response(app)


def _get(app, method="GET"):
    return Request.blank("/v1/a/c/o", method=method).get_response(app)


def _data_path(app):
    return diskfile.object_path(app.objects_dir, "a", "c", "o")


def _bytes_written():
    """Bytes this process has passed to write(2) so far (Linux)."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def test_post_on_a_large_object_leaves_the_data_file_alone(app):
    body = os.urandom(1 << 20) * 64  # 64 MiB
    assert _put(app, body, **{"X-Object-Meta-Old": "1"}).status_int == 201
    before = os.stat(_data_path(app))
    tmp_before = set(os.listdir(app.tmp_dir))
    written_before = _bytes_written()
    assert _post(app, **{"X-Object-Meta-New": "2", "Content-Type": "text/x"}).status_int == 202
    written = _bytes_written() - written_before
    after = os.stat(_data_path(app))
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
        (before.st_ino, before.st_mtime_ns, before.st_size)
    assert set(os.listdir(app.tmp_dir)) == tmp_before
    assert os.path.getsize(diskfile.meta_path(_data_path(app))) < 4096
    assert written < 256 * 1024  # the sidecar and SQLite's WAL, not 64 MiB
    got = _get(app)
    assert got.headers["X-Object-Meta-New"] == "2" and "X-Object-Meta-Old" not in got.headers
    assert got.headers["Content-Type"] == "text/x"
    assert got.headers["Etag"] == checksums.md5(body).hexdigest()
    assert got.body == body
    listed = Request.blank("/v1/a/c?format=json").get_response(app).json[0]
    assert listed["content_type"] == "text/x" and listed["bytes"] == len(body)


def test_post_sets_last_modified_and_a_second_post_replaces_the_first(app):
    assert _put(app, b"x", **{"X-Object-Sysmeta-S": "s"}).status_int == 201
    put_ts = _get(app, "HEAD").headers["X-Timestamp"]
    first = _post(app, **{"X-Object-Meta-A": "1"})
    assert first.headers["X-Timestamp"] > put_ts
    assert _post(app, **{"X-Object-Meta-B": "2"}).status_int == 202
    got = _get(app)
    assert got.headers["X-Object-Meta-B"] == "2" and "X-Object-Meta-A" not in got.headers
    assert got.headers["X-Object-Sysmeta-S"] == "s"
    assert got.headers["X-Timestamp"] > first.headers["X-Timestamp"]


def test_put_after_post_drops_the_sidecar(app):
    assert _put(app, b"one").status_int == 201
    assert _post(app, **{"X-Object-Meta-A": "1"}).status_int == 202
    assert os.path.exists(diskfile.meta_path(_data_path(app)))
    assert _put(app, b"two", **{"X-Object-Meta-B": "2"}).status_int == 201
    assert not os.path.exists(diskfile.meta_path(_data_path(app)))
    got = _get(app)
    assert got.body == b"two" and "X-Object-Meta-A" not in got.headers


def test_delete_removes_data_and_sidecar(app):
    assert _put(app, b"one").status_int == 201
    assert _post(app, **{"X-Object-Meta-A": "1"}).status_int == 202
    assert Request.blank("/v1/a/c/o", method="DELETE").get_response(app).status_int == 204
    assert not os.path.exists(_data_path(app))
    assert not os.path.exists(diskfile.meta_path(_data_path(app)))


def test_sidecar_of_another_version_is_ignored(app):
    # what a crash between a PUT's rename and its sidecar removal leaves
    assert _put(app, b"one", **{"X-Object-Meta-Put": "p"}).status_int == 201
    tmp_path = diskfile.prepare_meta(app.tmp_dir, "not-this-version", 1.0,
                                     {"X-Object-Meta-Stale": "s", "Content-Type": "x/y"})
    diskfile.publish_meta(tmp_path, _data_path(app))
    got = _get(app)
    assert got.headers["X-Object-Meta-Put"] == "p" and "X-Object-Meta-Stale" not in got.headers


def test_corrupt_sidecar_is_reported(app):
    assert _put(app, b"one").status_int == 201
    with open(diskfile.meta_path(_data_path(app)), "wb") as f:
        f.write(b"{not json")
    with pytest.raises(diskfile.CorruptObject):
        diskfile.ObjectFile.open(_data_path(app))


def test_failed_sidecar_write_keeps_the_old_metadata(app, monkeypatch):
    assert _put(app, b"one", **{"X-Object-Meta-A": "1"}).status_int == 201

    def broken(*_args):
        raise OSError(5, "I/O error")
    monkeypatch.setattr(diskfile.os, "fsync", broken)
    assert _post(app, **{"X-Object-Meta-B": "2"}).status_int == 500
    monkeypatch.undo()
    assert _get(app).headers["X-Object-Meta-A"] == "1"
    assert os.listdir(app.tmp_dir) == []


def test_get_streaming_while_a_post_lands_keeps_what_it_opened(app):
    body = os.urandom(300000)
    assert _put(app, body, **{"X-Object-Meta-A": "1"}).status_int == 201
    resp = Request.blank("/v1/a/c/o").call_application(app)
    status, headers, app_iter = resp
    chunks = iter(app_iter)
    first = next(chunks)
    assert _post(app, **{"X-Object-Meta-A": "2"}).status_int == 202
    rest = b"".join(chunks)
    app_iter.close()
    assert first + rest == body
    assert dict(headers)["X-Object-Meta-A"] == "1"
    assert _get(app).headers["X-Object-Meta-A"] == "2"


def test_concurrent_put_post_get_stay_consistent(app):
    """PUTs record their body's MD5 in sysmeta (which POST keeps); every
    GET must see a body matching it, and metadata of that body's lineage."""
    stop = threading.Event()
    errors = []

    def putter(n):
        for i in range(15):
            body = ("%d-%d" % (n, i)).encode() * 1000
            resp = _put(app, body, **{"X-Object-Sysmeta-Md5": checksums.md5(body).hexdigest(),
                                      "X-Object-Meta-Who": "put-%d-%d" % (n, i)})
            if resp.status_int != 201:
                errors.append(("put", resp.status_int))

    def poster():
        i = 0
        while not stop.is_set():
            resp = _post(app, **{"X-Object-Meta-Who": "post-%d" % i})
            if resp.status_int not in (202, 404):
                errors.append(("post", resp.status_int))
            i += 1

    def getter():
        while not stop.is_set():
            resp = _get(app)
            if resp.status_int == 404:
                continue
            if checksums.md5(resp.body).hexdigest() != resp.headers["X-Object-Sysmeta-Md5"]:
                errors.append(("get", "body and sysmeta disagree"))
            if resp.headers["Etag"].strip('"') != resp.headers["X-Object-Sysmeta-Md5"]:
                errors.append(("get", "etag and sysmeta disagree"))

    workers = [threading.Thread(target=poster), threading.Thread(target=getter),
               threading.Thread(target=getter)]
    putters = [threading.Thread(target=putter, args=(n,)) for n in range(3)]
    for t in workers + putters:
        t.start()
    for t in putters:
        t.join()
    stop.set()
    for t in workers:
        t.join()
    assert errors == []
    assert os.listdir(app.tmp_dir) == []
    final = _get(app)
    listed = Request.blank("/v1/a/c?format=json").get_response(app).json[0]
    assert listed["hash"] == final.headers["Etag"].strip('"')
    sidecar = diskfile.meta_path(_data_path(app))
    if os.path.exists(sidecar):
        with open(sidecar, "rb") as f:
            assert json.load(f)["version"] == diskfile.ObjectFile.open(_data_path(app)).version
