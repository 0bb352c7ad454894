"""The body-hash hand-off (swiftcrypt.common.environ): through the standalone
pipeline the ciphertext is hashed once, by the store, and the stored etag is
still MD5(the body on disk); a body that is not what the encrypter produced,
or a client etag that is not the plaintext's, is still refused 422; every
other arrangement (a filter between, Swift's filters, no encryption, a Swift
proxy's object server) hashes and checks as before."""

import base64
import io
import os

import pytest
from swift.common.middleware.crypto import filter_factory as swift_encryption
from swift.common.middleware.crypto.keymaster import filter_factory as swift_keymaster
from webob import Request

from swiftcrypt.common import checksums, names
from swiftcrypt.crypto import body as bodyencryption
from swiftcrypt.store import diskfile
from swiftcrypt.store.app import app_factory
from swiftcrypt.store.copy import ServerSideCopy
from swiftcrypt.store.gatekeeper import GateKeeper
from tests.support.pipelines import encrypting_pipeline

SECRET = base64.b64encode(b"S" * 32).decode()
KM_CONF = {"encryption_root_secret": SECRET}
PATH = "/v1/a/c/o"
# past INLINE_BYTES and THREADED_SIZE: the plaintext MD5 runs on a worker
SIZE = 4 * bodyencryption.INLINE_BYTES + 12345


class Recorded:
    """An MD5 that keeps what it was fed (to tell which bytes were hashed)."""

    made = []

    def __init__(self, data=b""):
        self._md5 = checksums.md5()
        self.fed = bytearray()
        Recorded.made.append(self)
        self.update(data)

    def update(self, data):
        self.fed += data
        self._md5.update(data)

    def hexdigest(self):
        return self._md5.hexdigest()


@pytest.fixture
def hashes(monkeypatch):
    """Every MD5 the encrypter and the store make, as Recorded objects."""
    Recorded.made = []
    monkeypatch.setattr(bodyencryption, "md5", Recorded)
    monkeypatch.setattr(diskfile, "md5", Recorded)
    return Recorded.made


@pytest.fixture
def store(tmp_path):
    app = app_factory({}, data_dir=str(tmp_path / "data"))
    assert _req(app, "/v1/a/c", "PUT").status_int == 201
    return app


def _req(app, path=PATH, method="GET", body=None, environ=None, **headers):
    req = Request.blank(path, method=method, headers=headers, environ=environ or {})
    if body is not None:
        req.body = body
    return req.get_response(app)


def _chunked_put(app, body, path=PATH, **headers):
    """A PUT without Content-Length (the store reads to the end)."""
    req = Request.blank(path, method="PUT", headers=headers)
    req.environ["wsgi.input"] = io.BytesIO(body)
    req.environ["wsgi.input_terminated"] = True
    req.environ.pop("CONTENT_LENGTH", None)
    return req.get_response(app)


def _on_disk(store, path=PATH):
    """``(header, body)`` of the object's data file."""
    account, container, obj = path.split("/", 4)[2:]
    obj_file = diskfile.ObjectFile.open(diskfile.object_path(store.objects_dir, account,
                                                            container, obj))
    try:
        body = b"".join(obj_file.read_range(0, obj_file.size - 1)) if obj_file.size else b""
        return obj_file.data_header, body
    finally:
        obj_file.close()


def _passes_over(hashes, data):
    return sum(1 for h in hashes if bytes(h.fed) == data)


def _standalone(store):
    """The embedded pipeline of etc/standalone.conf."""
    return GateKeeper(ServerSideCopy(encrypting_pipeline(store, KM_CONF)))


class InputFilter:
    """A filter between the encrypter and the store that wraps wsgi.input
    (``change``: what it does to each chunk)."""

    def __init__(self, app, change=lambda chunk: chunk):
        self.app = app
        self.change = change

    def __call__(self, environ, start_response):
        inner = environ["wsgi.input"]
        change = self.change

        class Wrapped:
            def read(self, *args):
                return change(inner.read(*args))

        environ["wsgi.input"] = Wrapped()
        return self.app(environ, start_response)


def _flip_first_byte(chunk):
    return bytes([chunk[0] ^ 1]) + chunk[1:] if chunk else chunk


def test_standalone_put_hashes_the_ciphertext_once(store, hashes):
    body = os.urandom(SIZE)
    resp = _req(_standalone(store), PATH, "PUT", body)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == checksums.md5(body).hexdigest()
    header, ciphertext = _on_disk(store)
    assert len(ciphertext) == len(body) and ciphertext != body
    assert _passes_over(hashes, ciphertext) == 1  # was 2: the encrypter's and the store's
    assert _passes_over(hashes, body) == 1
    assert header["etag"] == checksums.md5(ciphertext).hexdigest()
    assert _req(_standalone(store)).body == body


def test_chunked_and_copied_puts_hand_off_too(store, hashes):
    app = _standalone(store)
    body = os.urandom(SIZE)
    assert _chunked_put(app, body).status_int == 201
    assert _req(app, "/v1/a/c/copy", "PUT", b"", **{"X-Copy-From": "c/o"}).status_int == 201
    for path in (PATH, "/v1/a/c/copy"):
        header, ciphertext = _on_disk(store, path)
        assert _passes_over(hashes, ciphertext) == 1
        assert header["etag"] == checksums.md5(ciphertext).hexdigest()
        assert _req(app, path).body == body


def test_handed_off_object_is_in_swifts_format(store):
    """Swift's own filters read what the hand-off wrote, and the data file's
    header is the one Swift's filters get for the same body."""
    body = os.urandom(SIZE)
    assert _req(_standalone(store), PATH, "PUT", body).status_int == 201
    swift = swift_keymaster({}, **KM_CONF)(swift_encryption({})(store))
    resp = _req(swift)
    assert resp.status_int == 200 and resp.body == body
    assert resp.headers["Etag"] == checksums.md5(body).hexdigest()
    assert _req(swift, "/v1/a/c/s", "PUT", body).status_int == 201
    ours, ours_body = _on_disk(store)
    theirs, theirs_body = _on_disk(store, "/v1/a/c/s")
    assert ours["etag"] == checksums.md5(ours_body).hexdigest()
    assert theirs["etag"] == checksums.md5(theirs_body).hexdigest()
    assert sorted(ours["metadata"]) == sorted(theirs["metadata"])
    assert sorted(ours) == sorted(theirs)


def test_client_etag_mismatch_is_still_422(store, hashes):
    body = os.urandom(SIZE)
    resp = _req(_standalone(store), PATH, "PUT", body, Etag=checksums.md5(b"x").hexdigest())
    assert resp.status_int == 422
    assert _req(store).status_int == 404
    resp = _req(_standalone(store), PATH, "PUT", body, Etag=checksums.md5(body).hexdigest())
    assert resp.status_int == 201


def test_bytes_read_by_another_are_refused_422(store, hashes):
    """The store reads from the encrypter's own input object (the hand-off
    is taken) but someone else takes a chunk of the ciphertext on the way:
    the store's MD5 is not the ciphertext's, and the PUT is refused."""

    def stealing(app):
        def filt(environ, start_response):
            encrypting = environ["wsgi.input"]
            read = type(encrypting).read
            calls = []

            def read_skipping_one(*args):
                calls.append(1)
                if len(calls) == 2:
                    read(encrypting, *args)  # ciphertext the store never sees
                return read(encrypting, *args)

            encrypting.read = read_skipping_one  # the same object: hand-off taken
            return app(environ, start_response)
        return filt

    app = GateKeeper(encrypting_pipeline(stealing(store), KM_CONF))
    resp = _chunked_put(app, os.urandom(SIZE))
    assert resp.status_int == 422
    assert _req(store).status_int == 404


def test_corrupting_filter_between_is_still_caught(store, hashes):
    """A filter that rewrites the stream between the encrypter and the store:
    no hand-off (its wsgi.input is not the encrypter's), so the encrypter
    hashes the ciphertext and the store refuses the body that differs."""
    body = os.urandom(SIZE)
    resp = _req(encrypting_pipeline(InputFilter(store, _flip_first_byte), KM_CONF),
                PATH, "PUT", body)
    assert resp.status_int == 422
    assert _req(store).status_int == 404
    hashes.clear()
    resp = _req(encrypting_pipeline(InputFilter(store), KM_CONF), PATH, "PUT", body)
    assert resp.status_int == 201
    header, ciphertext = _on_disk(store)
    assert _passes_over(hashes, ciphertext) == 2  # as before: both sides hash
    assert header["etag"] == checksums.md5(ciphertext).hexdigest()


def test_swifts_filters_over_the_store_are_checked_as_before(store, hashes):
    body = os.urandom(SIZE)
    swift = swift_keymaster({}, **KM_CONF)(swift_encryption({})
                                           (InputFilter(store, _flip_first_byte)))
    assert _req(swift, PATH, "PUT", body).status_int == 422
    swift = swift_keymaster({}, **KM_CONF)(swift_encryption({})(store))
    assert _req(swift, PATH, "PUT", body).status_int == 201
    header, ciphertext = _on_disk(store)
    assert _passes_over(hashes, ciphertext) == 1  # the store's (Swift's own is not ours)
    assert header["etag"] == checksums.md5(ciphertext).hexdigest()


def test_unencrypted_store_checks_the_client_etag(store, hashes):
    body = os.urandom(SIZE)
    assert _req(store, PATH, "PUT", body, Etag=checksums.md5(b"x").hexdigest()).status_int \
        == 422
    assert _req(store, PATH, "PUT", body, Etag=checksums.md5(body).hexdigest()).status_int \
        == 201
    assert _passes_over(hashes, body) == 2  # one per PUT


def test_an_object_server_gets_the_ciphertext_etag_in_the_footers(hashes):
    """In a Swift proxy nobody takes the offer: the footer Etag is the
    encrypter's own MD5 of the ciphertext it produced, as always."""
    seen = {}

    def object_server(environ, start_response):
        assert environ[names.BODY_HASH_OFFER] is environ["wsgi.input"]
        seen["body"] = environ["wsgi.input"].read()
        footers = {}
        environ[names.FOOTERS_CALLBACK](footers)
        seen["footers"] = footers
        start_response("201 Created", [("Etag", footers["Etag"])])
        return [b""]

    body = os.urandom(SIZE)
    resp = _req(encrypting_pipeline(object_server, KM_CONF), PATH, "PUT", body)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == checksums.md5(body).hexdigest()
    assert seen["footers"]["Etag"] == checksums.md5(seen["body"]).hexdigest()
    assert _passes_over(hashes, seen["body"]) == 1  # the encrypter's


def test_offer_refused_once_a_byte_was_produced():
    enc = bodyencryption.BodyEncrypter(os.urandom(32), {"v": "2", "path": PATH})
    out = enc.update(b"abc")
    assert not enc.hand_off_ciphertext_hash(lambda: "0" * 32)
    assert enc.ciphertext_etag == checksums.md5(out).hexdigest()
