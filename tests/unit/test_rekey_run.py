"""rekeyrun.Rekeyer against a scripted backend: every outcome, the PUT it
sends, listings, and the WSGI in-process client it rides on."""

import json
import os

import pytest

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import keyids

from swiftcrypt.rekey import run
from swiftcrypt.common.wsgiclient import IterReader, call

STAMP = "1700000000.12345"


def raw_headers(secret_id):
    meta = {"cipher": "AES_CTR_256", "iv": os.urandom(16),
            "body_key": {"key": os.urandom(32), "iv": os.urandom(16)},
            "key_id": keyids.make_key_id("/AUTH_a/c/o", secret_id, "2")}
    return [("Content-Length", "5"), ("X-Object-Sysmeta-Crypto-Body-Meta",
                                       cryptometa.dump(meta))]


class Backend:
    """A scripted WSGI app: ``answers[method]`` is ``(status, headers, body)``."""

    def __init__(self, secret_id="A", active="B", **answers):
        self.active = active
        self.answers = {
            "HEAD": ("200 OK", raw_headers(secret_id) + [("X-Backend-Timestamp", STAMP)], b""),
            "GET": ("200 OK", [("Content-Length", "5"), ("Etag", '"e"'),
                               ("Content-Type", "text/plain"), ("X-Object-Meta-K", "v"),
                               ("X-Backend-Timestamp", STAMP)], b"hello"),
            "PUT": ("201 Created", [], b""),
        }
        self.answers.update(answers)
        self.requests = []

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        body = environ["wsgi.input"].read() if method == "PUT" else b""
        self.requests.append((method, environ, body))
        environ["swift.callback.fetch_crypto_keys"] = \
            lambda key_id=None: {"id": {"v": "2", "path": "/AUTH_a/c/o",
                                        "secret_id": self.active}}
        if method == "GET" and "QUERY_STRING" in environ and "format=json" in \
                environ["QUERY_STRING"]:
            return self.listing(environ, start_response)
        status, headers, data = self.answers[method]
        start_response(status, headers)
        return [data]

    def listing(self, environ, start_response):
        names = [] if "marker=o2" in environ["QUERY_STRING"] else ["o1", "o2"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([{"name": n} for n in names]).encode()]


def rekey(backend, **kw):
    return run.Rekeyer(backend, "AUTH_a", **kw).rekey_object("c", "o")


def test_stale_object_is_rewritten_at_its_timestamp_plus_an_offset():
    backend = Backend()
    result = rekey(backend)
    assert (result.outcome, result.detail) == (run.REKEYED, "A -> B")
    head, get, put = backend.requests
    assert head[1]["swift.crypto.override"] is True
    assert "swift.crypto.override" not in get[1]
    assert get[1]["QUERY_STRING"] == "multipart-manifest=get&symlink=get"
    env = put[1]
    assert env["HTTP_X_TIMESTAMP"] == STAMP + "_0000000000000001"
    assert env["HTTP_ETAG"] == "e" and env["CONTENT_TYPE"] == "text/plain"
    assert env["HTTP_X_OBJECT_META_K"] == "v" and env["CONTENT_LENGTH"] == "5"
    assert put[2] == b"hello"
    assert "HTTP_X_BACKEND_TIMESTAMP" not in env


def test_current_object_is_only_headed():
    backend = Backend(secret_id="B")
    assert rekey(backend).outcome == run.CURRENT
    assert [m for m, _e, _b in backend.requests] == ["HEAD"]


def test_dry_run_writes_nothing():
    backend = Backend()
    assert rekey(backend, dry_run=True).outcome == run.WOULD_REKEY
    assert [m for m, _e, _b in backend.requests] == ["HEAD"]


@pytest.mark.parametrize("status", ["202 Accepted", "409 Conflict"])
def test_refused_timestamp_is_a_conflict(status):
    result = rekey(Backend(PUT=(status, [], b"")))
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")


def test_changed_between_head_and_get_is_a_conflict_without_put():
    backend = Backend()
    status, headers, body = backend.answers["GET"]
    backend.answers["GET"] = (status, [(n, "1800000000.00000" if n == "X-Backend-Timestamp"
                                        else v) for n, v in headers], body)
    assert rekey(backend).outcome == run.CONFLICT
    assert [m for m, _e, _b in backend.requests] == ["HEAD", "GET"]


def test_gone_is_a_conflict():
    assert rekey(Backend(HEAD=("404 Not Found", [], b""))).outcome == run.CONFLICT
    assert rekey(Backend(GET=("404 Not Found", [], b""))).outcome == run.CONFLICT


def test_failures_are_one_line():
    result = rekey(Backend(PUT=("500 Internal Error", [], b"decryption failed\nmore")))
    assert (result.outcome, result.detail) == (
        run.FAILED, "PUT answered 500 decryption failed")
    result = rekey(Backend(HEAD=("200 OK", [("X-Object-Sysmeta-Crypto-Body-Meta", "%7B")], b"")))
    assert result.outcome == run.FAILED and "\n" not in result.detail


def test_expired_object_is_skipped():
    backend = Backend()
    status, headers, body = backend.answers["HEAD"]
    backend.answers["HEAD"] = (status, headers + [("X-Delete-At", "1000")], body)
    assert rekey(backend).outcome == run.EXPIRED


def test_no_keymaster_is_a_failure():
    def app(environ, start_response):
        start_response("200 OK", raw_headers("A"))
        return [b""]
    result = rekey(app)
    assert (result.outcome, result.detail) == (run.FAILED, "no keymaster in the pipeline")


def test_run_pages_through_listings_and_limits():
    backend = Backend()
    seen = []
    counts = run.Rekeyer(backend, "AUTH_a").run("c", report=seen.append)
    assert [r.name for r in seen] == ["o1", "o2"] and counts[run.REKEYED] == 2
    counts = run.Rekeyer(Backend(), "AUTH_a").run("c", limit=1)
    assert counts[run.REKEYED] == 1


def test_listing_failure_raises_with_counts_so_far():
    def app(environ, start_response):
        start_response("503 Service Unavailable", [])
        return [b"down"]
    rekeyer = run.Rekeyer(app, "AUTH_a")
    with pytest.raises(run.ListingError, match="503 down"):
        rekeyer.run()
    # so far: the account's own HEAD (for its encrypted metadata), a failure
    # rather than a silent skip (its secret must not look retirable)
    assert sum(rekeyer.counts.values()) == rekeyer.counts[run.FAILED] == 1
    reported = []
    with pytest.raises(run.ListingError, match="503 down"):
        rekeyer.run("c", report=reported.append)
    # --container: the account's metadata is not looked at, the container's
    # own HEAD is, and fails as the account's does
    assert sum(rekeyer.counts.values()) == rekeyer.counts[run.FAILED] == 1
    assert [(r.container, r.name, r.detail) for r in reported] == [
        ("c", None, "HEAD answered 503")]


def test_wsgi_client_late_start_response_and_close():
    closed = []

    class Body:
        def __iter__(self):
            yield b"a"
            yield b"b"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        def gen():
            start_response("200 OK", [("X-Path", environ["PATH_INFO"])])
            yield b"first"
            yield from Body()
        return gen()

    resp = call(app, "GET", "/v1/a/c/\u00fc")
    assert resp.status == 200 and resp.header("x-path") == "/v1/a/c/\u00c3\u00bc"
    assert b"".join(resp.body()) == b"firstab"

    class Closing(list):
        def close(self):
            closed.append(True)

    resp = call(lambda env, sr: (sr("200 OK", []), Closing([b"x"]))[1], "GET", "/")
    resp.close()
    assert closed == [True]


def test_wsgi_client_app_that_never_responds_is_a_500():
    closed = []

    class Silent(list):
        def close(self):
            closed.append(True)

    resp = call(lambda env, sr: Silent([b"stray"]), "GET", "/")
    assert resp.status == 500 and resp.headers == []
    assert b"".join(resp.body()) == b"stray"  # what it yielded, as it is
    assert closed == [True]


def test_iter_reader():
    reader = IterReader([b"abc", b"", b"defg"])
    assert reader.read(2) == b"ab"
    assert reader.read(5) == b"c"
    assert reader.read(3) == b"def"
    assert reader.read() == b"g"
    assert reader.read(1) == b""
