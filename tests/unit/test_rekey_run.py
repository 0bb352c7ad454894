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


# requests per object through swiftcrypt's own filters (a counting backend)

def _filters():
    # imported here: test_rekey_plaintext imports this module's neighbours
    from tests.support.pipelines import call as client_call, encrypting_pipeline
    from tests.unit.test_rekey_db_metadata import NEW_ONLY, OLD_ONLY, ROTATED
    from tests.unit.test_rekey_plaintext import TimedStore
    return client_call, encrypting_pipeline, TimedStore, OLD_ONLY, NEW_ONLY, ROTATED


def _object_requests(store, start=0):
    return [(method, path) for method, path, _headers in store.requests[start:]
            if path.count("/") == 4]


def test_a_stale_object_costs_one_get_and_one_put_a_current_one_a_get():
    client_call, pipeline, TimedStore, OLD_ONLY, NEW_ONLY, ROTATED = _filters()
    store = TimedStore()
    assert client_call(pipeline(store, OLD_ONLY), "/v1/AUTH_a/c/old", "PUT", body=b"x" * 1024,
                       headers={"X-Object-Meta-K": "v"}).status_int == 201
    assert client_call(pipeline(store, NEW_ONLY), "/v1/AUTH_a/c/new", "PUT",
                       body=b"y").status_int == 201
    start = len(store.requests)
    reported = []
    counts = run.Rekeyer(pipeline(store, ROTATED), "AUTH_a").run("c", report=reported.append)
    assert (counts[run.REKEYED], counts[run.CURRENT]) == (1, 1)
    assert [(r.name, r.detail, sorted(r.secrets)) for r in reported] == [
        ("new", "", ["new"]), ("old", "old -> new", ["old"])]
    # no raw HEAD: what it said comes with the GET the body is read from
    assert _object_requests(store, start) == [
        ("GET", "/v1/AUTH_a/c/new"), ("GET", "/v1/AUTH_a/c/old"), ("PUT", "/v1/AUTH_a/c/old")]
    got = client_call(pipeline(store, NEW_ONLY), "/v1/AUTH_a/c/old")
    assert got.body == b"x" * 1024 and got.headers["X-Object-Meta-K"] == "v"
    start = len(store.requests)
    dry = run.Rekeyer(pipeline(store, ROTATED), "AUTH_a", dry_run=True).run("c")
    assert dry[run.CURRENT] == 2
    assert [m for m, _p in _object_requests(store, start)] == ["GET", "GET"]


def test_a_client_write_after_the_tools_get_wins():
    client_call, pipeline, TimedStore, OLD_ONLY, NEW_ONLY, ROTATED = _filters()

    class Racing(TimedStore):
        """A client PUT lands between the tool's GET and its PUT."""
        def do_GET(self, req):
            resp = super().do_GET(req)
            if req.headers.get("User-Agent") == "swiftcrypt-rekey" and not self.raced:
                self.raced = True
                assert client_call(pipeline(self, OLD_ONLY), req.path_info, "PUT",
                                   body=b"the client's").status_int == 201
            return resp

    store = Racing()
    store.raced = False
    writer = pipeline(store, OLD_ONLY)
    assert client_call(writer, "/v1/AUTH_a/c/o", "PUT", body=b"before").status_int == 201
    result = run.Rekeyer(pipeline(store, ROTATED), "AUTH_a").rekey_object("c", "o")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    assert client_call(writer, "/v1/AUTH_a/c/o").body == b"the client's"


def test_unparsable_crypto_meta_fails_with_the_reason_and_dry_runs_say_would():
    client_call, pipeline, TimedStore, OLD_ONLY, NEW_ONLY, ROTATED = _filters()
    store = TimedStore()
    assert client_call(pipeline(store, OLD_ONLY), "/v1/AUTH_a/c/o", "PUT",
                       body=b"x" * 64).status_int == 201
    # a secret the tool does not hold: the decrypter refuses the GET
    result = run.Rekeyer(pipeline(store, NEW_ONLY), "AUTH_a", dry_run=True).rekey_object("c", "o")
    assert result.outcome == run.WOULD_REKEY and result.secrets == {"old"}
    result = run.Rekeyer(pipeline(store, NEW_ONLY), "AUTH_a").rekey_object("c", "o")
    assert result.outcome == run.FAILED and result.detail.startswith("GET answered 500")
    assert result.secrets == {"old"}
    meta = store.objects["/v1/AUTH_a/c/o"][0]
    meta["X-Object-Sysmeta-Crypto-Body-Meta"] = "%7B"
    result = run.Rekeyer(pipeline(store, ROTATED), "AUTH_a").rekey_object("c", "o")
    assert result.outcome == run.FAILED and "malformed crypto meta" in result.detail


def test_through_swifts_decrypter_the_raw_head_stays():
    # Swift's decrypter does not show the stored headers: HEAD, GET, PUT
    from swift.common.middleware.crypto import filter_factory as swift_encryption

    from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster
    client_call, pipeline, TimedStore, OLD_ONLY, NEW_ONLY, ROTATED = _filters()
    store = TimedStore()
    assert client_call(pipeline(store, OLD_ONLY), "/v1/AUTH_a/c/o", "PUT",
                       body=b"x" * 100).status_int == 201
    tool = keymaster({}, **ROTATED)(swift_encryption({})(store))
    start = len(store.requests)
    result = run.Rekeyer(tool, "AUTH_a").rekey_object("c", "o")
    assert (result.outcome, result.detail) == (run.REKEYED, "old -> new")
    assert [m for m, _p in _object_requests(store, start)] == ["HEAD", "GET", "PUT"]
    assert client_call(pipeline(store, NEW_ONLY), "/v1/AUTH_a/c/o").body == b"x" * 100
