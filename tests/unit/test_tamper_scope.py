"""What swiftcrypt's tamper evidence does and does not detect when stored
objects are moved around on disk (doc/security.md, "Tamper evidence"):
a body's or etag's crypto metadata moved on its own onto another object is
a 500; a user metadata value's, or all of it onto another body (without
verify_body), is not detected; a whole object (body and every piece of its
crypto metadata) copied onto another name reads back as the original
object, because Swift's format lets the key id name the path the keys were
derived from, and the decrypter trusts it."""

import base64
import logging
import shutil

import pytest

from swiftcrypt.store import diskfile
from swiftcrypt.store.app import app_factory
from tests.support.memstore import MemStore
from tests.support.pipelines import call, encrypting_pipeline
from swiftcrypt.common import checksums

SECRET = base64.b64encode(b"S" * 32).decode()


@pytest.fixture
def store():
    return MemStore()


@pytest.fixture
def app(store):
    return encrypting_pipeline(store, {"encryption_root_secret": SECRET})


@pytest.mark.parametrize("target", ["/v1/a/c/other", "/v1/a/c2/other", "/v1/b/c/other"])
def test_whole_object_copied_onto_another_name_reads_as_the_original(
        store, app, target, caplog):
    assert call(app, "/v1/a/c/one", "PUT", b"the original body").status_int == 201
    assert call(app, target, "PUT", b"what was there").status_int == 201
    store.objects[target] = store.objects["/v1/a/c/one"]
    with caplog.at_level(logging.INFO):
        got = call(app, target)
    # NOT detected: a 200 with the original object's body and etag
    assert got.status_int == 200
    assert got.body == b"the original body"
    assert got.headers["Etag"] == checksums.md5(b"the original body").hexdigest()
    # the only trace: an info line that the key id names another path
    assert "key_id path does not match the request path" in caplog.text


def _two_objects(store, app):
    assert call(app, "/v1/a/c/one", "PUT", b"one body",
                headers={"X-Object-Meta-M": "one meta"}).status_int == 201
    assert call(app, "/v1/a/c/two", "PUT", b"two body",
                headers={"X-Object-Meta-M": "two meta"}).status_int == 201
    return store.objects["/v1/a/c/one"], store.objects["/v1/a/c/two"]


@pytest.mark.parametrize("header", [
    "X-Object-Sysmeta-Crypto-Body-Meta",  # it names one's key id: one's keys
    "X-Object-Sysmeta-Crypto-Etag",
    "X-Object-Sysmeta-Crypto-Etag-Mac",
])
def test_body_or_etag_crypto_metadata_moved_alone_is_a_500(store, app, header, caplog):
    (meta_one, _), (meta_two, body_two) = _two_objects(store, app)
    store.objects["/v1/a/c/two"] = (dict(meta_two, **{header: meta_one[header]}), body_two)
    with caplog.at_level(logging.ERROR):
        got = call(app, "/v1/a/c/two")
    assert got.status_int == 500
    assert b"two body" not in got.body and b"one body" not in got.body
    assert "error decrypting object /v1/a/c/two" in caplog.text


def test_user_metadata_crypto_moved_alone_is_not_detected(store, app):
    (meta_one, _), (meta_two, body_two) = _two_objects(store, app)
    name = "X-Object-Transient-Sysmeta-Crypto-Meta-M"
    store.objects["/v1/a/c/two"] = (dict(meta_two, **{name: meta_one[name]}), body_two)
    got = call(app, "/v1/a/c/two")
    # a 200: the body is right, the value decrypts (under the wrong IV) to
    # something that is neither object's
    assert got.status_int == 200 and got.body == b"two body"
    assert got.headers["X-Object-Meta-M"] not in ("one meta", "two meta")


def test_all_crypto_metadata_moved_onto_another_body():
    """Undetected without verify_body (a 200 of garbage of the right
    length); with it the full GET is refused: the body comes as one
    chunk, so it is checked before the status goes out."""
    for verify, detected in (("false", False), ("true", True)):
        store = MemStore()
        app = encrypting_pipeline(store, {"encryption_root_secret": SECRET},
                                  verify_body=verify)
        (meta_one, _), (meta_two, body_two) = _two_objects(store, app)
        moved = dict(meta_two, **{k: v for k, v in meta_one.items() if "Crypto" in k})
        store.objects["/v1/a/c/two"] = (moved, body_two)
        if detected:
            got = call(app, "/v1/a/c/two")
            assert got.status_int == 500 and got.body == b"The stored object is corrupt"
        else:
            got = call(app, "/v1/a/c/two")
            assert got.status_int == 200 and len(got.body) == len(b"two body")
            assert got.body not in (b"one body", b"two body")


def test_data_file_copied_onto_another_name_in_the_store_reads_as_the_original(tmp_path):
    """The same in the embedded store: its data file of one object copied
    over another's is served as the first object (doc/security.md)."""
    store = app_factory({}, data_dir=str(tmp_path / "data"))
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET})
    assert call(app, "/v1/a/c", "PUT").status_int == 201
    assert call(app, "/v1/a/c/one", "PUT", b"the original body").status_int == 201
    assert call(app, "/v1/a/c/two", "PUT", b"what was there").status_int == 201
    shutil.copyfile(diskfile.object_path(store.objects_dir, "a", "c", "one"),
                    diskfile.object_path(store.objects_dir, "a", "c", "two"))
    got = call(app, "/v1/a/c/two")
    assert got.status_int == 200 and got.body == b"the original body"
