"""The store app in-process: atomic writes and failure handling."""

import errno
import io
import os

import pytest
import webob.exc
from swift.common import swob
from webob import Request

from swiftcrypt.common.errors import ConfigError
from swiftcrypt.store import diskfile
from swiftcrypt.store.app import app_factory
from swiftcrypt.common import checksums


@pytest.fixture
def app(tmp_path):
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    return store


def _put(app, body, path="/v1/a/c/o", environ=None, **headers):
    req = Request.blank(path, method="PUT", headers=headers, environ=environ or {})
    req.body = body
    return req.get_response(app)


def _tmp_files(app):
    return os.listdir(app.tmp_dir)


def _object_files(app):
    return [f for _d, _s, files in os.walk(app.objects_dir) for f in files]


class ShortInput(io.BytesIO):
    """A client that goes away: returns less than Content-Length."""


class FailingInput:
    def __init__(self, exc, after=b"partial"):
        self.exc = exc
        self.after = after

    def read(self, *_args):
        if self.after:
            data, self.after = self.after, b""
            return data
        raise self.exc


def test_put_then_get(app):
    resp = _put(app, b"hello", **{"X-Object-Meta-A": "b"})
    assert resp.status_int == 201
    # unquoted, as Swift's proxy answers clients
    assert resp.headers["Etag"] == checksums.md5(b"hello").hexdigest()
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.body == b"hello" and got.headers["X-Object-Meta-A"] == "b"
    assert _tmp_files(app) == []


def test_short_body_is_499_and_keeps_previous(app):
    assert _put(app, b"old").status_int == 201
    req = Request.blank("/v1/a/c/o", method="PUT",
                        environ={"wsgi.input": io.BytesIO(b"only part"),
                                 "CONTENT_LENGTH": "100"})
    assert req.get_response(app).status_int == 499
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"old"
    assert _tmp_files(app) == []


@pytest.mark.parametrize("exc,status", [
    (OSError(errno.ECONNRESET, "reset"), 499),
    (RuntimeError("bug"), 500),
    (webob.exc.HTTPRequestEntityTooLarge(), 413),
    (swob.HTTPUnprocessableEntity(body=b"swob says no"), 422),
])
def test_input_errors_store_nothing(app, exc, status):
    assert _put(app, b"old").status_int == 201
    req = Request.blank("/v1/a/c/o", method="PUT",
                        environ={"wsgi.input": FailingInput(exc), "CONTENT_LENGTH": "100"})
    assert req.get_response(app).status_int == status
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"old"
    assert _tmp_files(app) == []
    assert len(_object_files(app)) == 1


@pytest.mark.parametrize("exc,status", [
    (swob.HTTPUnprocessableEntity(body=b"Etag mismatch"), 422),
    (webob.exc.HTTPBadRequest(), 400),
    (KeyError("boom"), 500),
])
def test_footer_callback_errors_store_nothing(app, exc, status):
    def callback(footers):
        raise exc
    resp = _put(app, b"new", environ={"swift.callback.update_footers": callback})
    assert resp.status_int == status
    assert Request.blank("/v1/a/c/o").get_response(app).status_int == 404
    assert _tmp_files(app) == [] and _object_files(app) == []


def test_footers_override_headers_and_etag_is_checked(app):
    body = b"cipher"
    md5 = checksums.md5(body).hexdigest()

    def callback(footers):
        footers["Etag"] = md5
        footers["X-Object-Sysmeta-Crypto-X"] = "from-footer"

    resp = _put(app, body, environ={"swift.callback.update_footers": callback},
                **{"Etag": "0" * 32, "X-Object-Sysmeta-Crypto-X": "from-header"})
    assert resp.status_int == 201
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.headers["X-Object-Sysmeta-Crypto-X"] == "from-footer"

    def bad(footers):
        footers["etag"] = "1" * 32
    assert _put(app, b"other", environ={"swift.callback.update_footers": bad}).status_int == 422
    assert Request.blank("/v1/a/c/o").get_response(app).body == body


def test_chained_footer_callbacks_see_case_insensitive_dict(app):
    seen = {}

    def callback(footers):
        footers["ETAG"] = checksums.md5(b"x").hexdigest()
        seen["etag"] = footers.get("etag")
    assert _put(app, b"x", environ={"swift.callback.update_footers": callback}).status_int == 201
    assert seen["etag"] == checksums.md5(b"x").hexdigest()


def test_disk_full_is_507_and_keeps_previous(app, monkeypatch):
    assert _put(app, b"old").status_int == 201
    def full(self, chunk):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(diskfile.ObjectWriter, "write", full)
    resp = _put(app, b"new body longer than three bytes")
    assert resp.status_int == 507
    monkeypatch.undo()
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"old"
    assert _tmp_files(app) == []


def test_disk_full_on_fsync_is_507(app, monkeypatch):
    assert _put(app, b"old").status_int == 201

    def no_space(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(diskfile.os, "fsync", no_space)
    assert _put(app, b"new").status_int == 507
    monkeypatch.undo()
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"old"
    assert _tmp_files(app) == []


def test_chunked_put_without_length(app):
    req = Request.blank("/v1/a/c/o", method="PUT", environ={
        "wsgi.input": io.BytesIO(b"a" * 200000), "HTTP_TRANSFER_ENCODING": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(app).status_int == 201
    assert len(Request.blank("/v1/a/c/o").get_response(app).body) == 200000


def test_put_without_length_or_chunked_is_411(app):
    req = Request.blank("/v1/a/c/o", method="PUT", environ={"wsgi.input": io.BytesIO(b"a")})
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(app).status_int == 411


def test_etag_is_at_conditional(app):
    assert _put(app, b"body", **{"X-Object-Sysmeta-Mac": "MAC+/="}).status_int == 201
    def get(**headers):
        return Request.blank("/v1/a/c/o", headers=headers).get_response(app).status_int
    assert get(**{"If-Match": '"MAC+/="', "X-Backend-Etag-Is-At": "X-Object-Sysmeta-Mac"}) == 200
    assert get(**{"If-Match": '"%s"' % checksums.md5(b"body").hexdigest(),
                  "X-Backend-Etag-Is-At": "X-Object-Sysmeta-Mac"}) == 412
    assert get(**{"If-None-Match": '"MAC+/="',
                  "X-Backend-Etag-Is-At": "X-Object-Sysmeta-Nope,X-Object-Sysmeta-Mac"}) == 304
    assert get(**{"If-Match": checksums.md5(b"body").hexdigest(),
                  "X-Backend-Etag-Is-At": "X-Object-Sysmeta-Nope"}) == 200


def test_post_keeps_sysmeta_and_replaces_transient(app):
    assert _put(app, b"b", **{"X-Object-Sysmeta-S": "s", "X-Object-Transient-Sysmeta-T": "t",
                              "X-Object-Meta-M": "m"}).status_int == 201
    req = Request.blank("/v1/a/c/o", method="POST",
                        headers={"X-Object-Transient-Sysmeta-U": "u"})
    assert req.get_response(app).status_int == 202
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.headers["X-Object-Sysmeta-S"] == "s"
    assert got.headers["X-Object-Transient-Sysmeta-U"] == "u"
    assert "X-Object-Transient-Sysmeta-T" not in got.headers
    assert "X-Object-Meta-M" not in got.headers
    assert got.body == b"b"


def test_listing_uses_override_etag(app):
    assert _put(app, b"abc", **{
        "X-Object-Sysmeta-Container-Update-Override-Etag": "enc; swift_meta=x; swift_bytes=9",
    }).status_int == 201
    listing = Request.blank("/v1/a/c?format=json").get_response(app).json
    assert listing[0]["hash"] == "enc; swift_meta=x" and listing[0]["bytes"] == 9


def test_non_utf8_metadata_value_round_trips(app):
    raw = b"\xff\xfe caf\xc3\xa9"
    req = Request.blank("/v1/a/c/o", method="PUT")
    req.environ["HTTP_X_OBJECT_META_RAW"] = raw.decode("latin-1")
    req.body = b"x"
    assert req.get_response(app).status_int == 201
    got = Request.blank("/v1/a/c/o").get_response(app)
    assert got.headers["X-Object-Meta-Raw"].encode("latin-1") == raw
    # and the stored file holds exactly those bytes
    data = open(os.path.join(app.objects_dir, *_obj_rel(app)), "rb").read()
    assert raw in data


def _obj_rel(app):
    for directory, _subdirs, files in os.walk(app.objects_dir):
        for name in files:
            return os.path.relpath(os.path.join(directory, name), app.objects_dir).split(os.sep)
    raise AssertionError("no object file")


def test_unknown_method_is_405(app):
    resp = Request.blank("/v1/a/c/o", method="PATCH").get_response(app)
    assert resp.status_int == 405 and "PUT" in resp.headers["Allow"]


def test_swift_authorize_denial_is_returned(app):
    def deny(req):
        assert req.acl is None
        return swob.HTTPForbidden(request=req)
    req = Request.blank("/v1/a/c/o", environ={"swift.authorize": deny})
    assert req.get_response(app).status_int == 403


def test_stale_temp_files_removed_at_start(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "d"
    (data / "tmp").mkdir(parents=True)
    old = data / "tmp" / "obj-left.tmp"  # an older store's name: no pid
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (data / "tmp" / ("obj-%s-x.tmp" % dead)).write_bytes(b"x")  # its writer exited
    live = "obj-%d-y.tmp" % os.getpid()  # another worker's upload in progress
    (data / "tmp" / live).write_bytes(b"x")
    store = app_factory({}, data_dir=str(data))
    assert sorted(os.listdir(data / "tmp")) == sorted([live, os.path.basename(store.tmp_dir)])


def test_dead_process_temp_dir_removed_at_start_live_one_kept(tmp_path):
    # a process's temp files live in its own flock'ed dir under tmp/: a
    # restart removes a dead one's whatever its pid (pids are reused: a
    # container's server is often pid 1 every time)
    data = tmp_path / "d"
    first = app_factory({}, data_dir=str(data))
    (data / "tmp" / (str(os.getpid()) + "-dead")).mkdir()  # our pid, no lock: dead
    (data / "tmp" / (str(os.getpid()) + "-dead") / "meta-x.tmp").write_bytes(b"x")
    with open(os.path.join(first.tmp_dir, "obj-in-progress.tmp"), "wb") as f:
        f.write(b"x")
    second = app_factory({}, data_dir=str(data))
    assert sorted(os.listdir(data / "tmp")) == sorted(
        os.path.basename(s.tmp_dir) for s in (first, second))
    assert os.listdir(first.tmp_dir) == ["obj-in-progress.tmp"]  # still in use


def test_factory_needs_data_dir(tmp_path):
    with pytest.raises(ConfigError) as err:
        app_factory({})
    assert "data_dir" in str(err.value)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as err:
        app_factory({}, data_dir=str(blocker / "sub"))
    assert str(err.value).startswith("data_dir: cannot use")


def test_corrupt_object_file_detected(tmp_path):
    path = tmp_path / "x.obj"
    path.write_bytes(b"short")
    with pytest.raises(diskfile.CorruptObject):
        diskfile.ObjectFile.open(str(path))
