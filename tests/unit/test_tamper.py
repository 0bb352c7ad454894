"""verify_body: full GETs of encrypted objects are checked against their
etag, and a tampered body is never delivered whole."""

import base64
import logging
import os

import pytest
from webob import Request

from swiftcrypt.middleware import verify_body
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.common.errors import ConfigError
from tests.support.memstore import MemStore
from tests.support.pipelines import OBJECT_PATH as PATH
from tests.support.pipelines import call, encrypting_pipeline
from swiftcrypt.common import checksums

SECRET = base64.b64encode(b"T" * 32).decode()
CHUNK = 1000


class Chunked:
    """Backend wrapper serving GET bodies in CHUNK-byte pieces, recording
    whether the body iterator was closed."""

    def __init__(self, app):
        self.app = app
        self.closed = 0

    def __call__(self, environ, start_response):
        body = b"".join(self.app(environ, start_response))
        return _Closing(self, [body[i:i + CHUNK] for i in range(0, len(body), CHUNK)])


class _Closing:
    def __init__(self, owner, chunks):
        self.owner = owner
        self.chunks = chunks

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.owner.closed += 1


def pipeline(backend, verify=True, **conf):
    conf.setdefault("verify_body", "true" if verify else "false")
    return encrypting_pipeline(backend, {"encryption_root_secret": SECRET}, **conf)


@pytest.fixture
def store():
    return MemStore()


@pytest.fixture
def backend(store):
    return Chunked(store)


@pytest.fixture
def app(backend):
    return pipeline(backend)


def put(app, body, path=PATH, **headers):
    resp = call(app, path, "PUT", body, headers)
    assert resp.status_int == 201, resp.body
    return resp


def get(app, path=PATH, headers=None, method="GET"):
    """Call the app as a WSGI server would; returns (status, headers,
    chunks received, exception raised while iterating or None)."""
    captured = {}

    def start_response(status, hdrs, exc_info=None):
        captured["status"] = status
        captured["headers"] = dict(hdrs)

    environ = Request.blank(path, method=method, headers=headers or {}).environ
    body_iter = app(environ, start_response)
    chunks, error = [], None
    try:
        for chunk in body_iter:
            chunks.append(chunk)
    except Exception as err:  # what the WSGI server would see
        error = err
    finally:
        close = getattr(body_iter, "close", None)
        if close:
            close()
    return int(captured["status"][:3]), captured["headers"], chunks, error


def flip_byte(store, offset, path=PATH):
    meta, body = store.objects[path]
    body = bytearray(body)
    body[offset] ^= 0x01
    store.objects[path] = (meta, bytes(body))


def test_untampered_object_is_served_whole(app, backend):
    body = os.urandom(5 * CHUNK + 17)
    put(app, body)
    status, headers, chunks, error = get(app)
    assert (status, error) == (200, None)
    assert b"".join(chunks) == body
    assert headers["Etag"] == checksums.md5(body).hexdigest()
    assert len(chunks) == 6
    assert backend.closed == 1


@pytest.mark.parametrize("offset", [0, 2500, 5 * CHUNK + 16])
def test_tampered_body_is_cut_short_and_logged(app, store, caplog, offset):
    body = os.urandom(5 * CHUNK + 17)
    put(app, body)
    flip_byte(store, offset)
    with caplog.at_level(logging.ERROR, logger="swiftcrypt"):
        status, headers, chunks, error = get(app)
    assert status == 200  # already sent: the body is where the error shows
    assert isinstance(error, verify_body.BodyCorrupt)
    received = b"".join(chunks)
    assert int(headers["Content-Length"]) == len(body)
    assert len(received) < len(body)
    assert len(received) == 5 * CHUNK  # everything but the held-back last chunk
    lines = [r.getMessage() for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(lines) == 1 and PATH in lines[0]
    assert checksums.md5(body).hexdigest() not in lines[0]  # no plaintext etag in logs


def test_tampered_single_chunk_object_is_a_500(app, store, caplog):
    """The whole body is checked before the status goes out."""
    body = b"a short secret report"
    put(app, body)
    flip_byte(store, 3)
    with caplog.at_level(logging.ERROR):
        status, _headers, chunks, error = get(app)
    assert (status, error) == (500, None)
    assert b"".join(chunks) == b"The stored object is corrupt"
    assert "is corrupt" in caplog.text and "answered 500" in caplog.text


def test_without_verify_body_a_tampered_body_is_served(store):
    """The gap verify_body closes: CTR is malleable and Swift serves it."""
    app = pipeline(Chunked(store), verify=False)
    body = b"pay 100 to alice" * 100
    put(app, body)
    flip_byte(store, 4)
    status, _headers, chunks, error = get(app)
    received = b"".join(chunks)
    assert (status, error) == (200, None)
    assert len(received) == len(body) and received != body
    assert received[4] == body[4] ^ 0x01


def test_ranged_reads_are_not_verified(app, store):
    body = os.urandom(4 * CHUNK)
    put(app, body)
    flip_byte(store, 10)
    status, _headers, chunks, error = get(app, headers={"Range": "bytes=0-99"})
    assert (status, error) == (206, None)
    received = b"".join(chunks)
    assert len(received) == 100 and received != body[:100]


def test_removed_crypto_etag_counts_as_corrupt(app, store):
    body = os.urandom(3 * CHUNK)
    put(app, body)
    meta, stored = store.objects[PATH]
    del meta["X-Object-Sysmeta-Crypto-Etag"]
    del meta["X-Object-Sysmeta-Crypto-Etag-Mac"]
    status, _headers, chunks, error = get(app)
    assert isinstance(error, verify_body.BodyCorrupt)
    assert len(b"".join(chunks)) < len(body)


def test_unencrypted_and_empty_objects_pass_through(store):
    plain = pipeline(Chunked(store), disable_encryption="true")
    put(plain, b"written before encryption", "/v1/a/c/plain")
    app = pipeline(Chunked(store))
    put(app, b"", "/v1/a/c/empty")
    for path, expected in (("/v1/a/c/plain", b"written before encryption"),
                           ("/v1/a/c/empty", b"")):
        status, _headers, chunks, error = get(app, path)
        assert (status, error, b"".join(chunks)) == (200, None, expected)


def test_head_and_conditional_responses_pass_through(app, store):
    body = os.urandom(2 * CHUNK)
    put(app, body)
    flip_byte(store, 0)
    status, headers, _chunks, error = get(app, method="HEAD")
    assert (status, error) == (200, None)
    etag = checksums.md5(body).hexdigest()
    assert headers["Etag"] == etag
    status, _headers, _chunks, error = get(app, headers={"If-None-Match": '"%s"' % etag})
    assert (status, error) == (304, None)
    status, _headers, _chunks, error = get(app, headers={"If-Match": '"nope"'})
    assert (status, error) == (412, None)
    status, _headers, chunks, error = get(app, headers={"If-Match": '"%s"' % etag})
    assert status == 200 and isinstance(error, verify_body.BodyCorrupt)


def test_missing_object_passes_through(app):
    status, _headers, _chunks, error = get(app, "/v1/a/c/nothing")
    assert (status, error) == (404, None)


def test_client_disconnect_closes_the_backend(app, backend):
    put(app, os.urandom(5 * CHUNK))
    captured = []
    environ = Request.blank(PATH).environ
    body_iter = app(environ, lambda status, headers, exc_info=None: captured.append(status))
    iterator = iter(body_iter)
    first = next(iterator)
    body_iter.close()
    assert captured == ["200 OK"] and len(first) == CHUNK
    assert backend.closed == 1


def test_a_stale_note_in_the_environ_is_ignored(store):
    """Only the decrypter's note for this response counts."""
    app = pipeline(Chunked(store), disable_encryption="true")
    put(app, b"plain")
    environ = Request.blank(PATH).environ
    environ[verify_body.DECRYPTED_ETAG] = "0" * 32
    out = []
    chunks = list(app(environ, lambda s, h, e=None: out.append(s)))
    assert out == ["200 OK"] and b"".join(chunks) == b"plain"


def test_verify_body_option_is_checked_at_start_up():
    with pytest.raises(ConfigError) as info:
        encryption_factory({}, verify_body="perhaps")
    assert info.value.option == "verify_body"


def test_verifying_iter_alone():
    body = [b"ab", b"", b"cd", b"ef"]
    good = verify_body.VerifyingIter(iter(body), checksums.md5(b"abcdef").hexdigest(),
                                logging.getLogger("t"), "/p")
    assert list(good) == [b"ab", b"cd", b"ef"] and good.verified
    bad = verify_body.VerifyingIter(iter(body), '"%s"' % checksums.md5(b"abcdeF").hexdigest(),
                               logging.getLogger("t"), "/p")
    out = []
    with pytest.raises(verify_body.BodyCorrupt):
        for chunk in bad:
            out.append(chunk)
    assert out == [b"ab", b"cd"] and not bad.verified
