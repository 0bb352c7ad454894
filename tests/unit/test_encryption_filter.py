"""The encryption filter in-process over an in-memory backend."""

import base64
import json
import logging
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webob import Request

from swiftcrypt.crypto import ciphers
from swiftcrypt.middleware.byteranges import ByterangesRewriter
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from tests.support.memstore import MemStore
from tests.support.pipelines import call, encrypting_pipeline
from swiftcrypt.common import checksums

SECRET_A = base64.b64encode(b"A" * 32).decode()
SECRET_B = base64.b64encode(b"B" * 32).decode()


def pipeline(store, encryption_conf=None, **keymaster_conf):
    keymaster_conf = keymaster_conf or {"encryption_root_secret": SECRET_A}
    return encrypting_pipeline(store, keymaster_conf, **(encryption_conf or {}))


@pytest.fixture
def store():
    return MemStore()


@pytest.fixture
def app(store):
    return pipeline(store)


def md5(data):
    return checksums.md5(data).hexdigest()


def test_put_stores_ciphertext_and_get_returns_plaintext(store, app):
    body = os.urandom(1000)
    resp = call(app, "/v1/a/c/o", "PUT", body, {"X-Object-Meta-Color": "blue"})
    assert resp.status_int == 201
    assert resp.headers["Etag"] == md5(body)
    meta, stored = store.objects["/v1/a/c/o"]
    assert stored != body and len(stored) == len(body)
    assert meta["Etag"] == md5(stored)
    assert "X-Object-Meta-Color" not in meta
    assert "blue" not in json.dumps(meta)
    assert meta["X-Object-Sysmeta-Crypto-Etag"].count("swift_meta=") == 1
    resp = call(app, "/v1/a/c/o")
    assert resp.status_int == 200
    assert resp.body == body
    assert resp.headers["Etag"] == md5(body)
    assert resp.headers["X-Object-Meta-Color"] == "blue"
    assert not [h for h in resp.headers if "crypto" in h.lower() and "cipher" not in h.lower()]


def test_head_decrypts_headers(app):
    call(app, "/v1/a/c/o", "PUT", b"hello", {"X-Object-Meta-Note": "x"})
    resp = call(app, "/v1/a/c/o", "HEAD")
    assert resp.headers["Etag"] == md5(b"hello")
    assert resp.headers["X-Object-Meta-Note"] == "x"


def test_utf8_metadata_round_trip(store, app):
    value = "caf\u00e9 \u2603".encode("utf-8").decode("latin-1")  # as WSGI carries it
    call(app, "/v1/a/c/o", "PUT", b"x", {"X-Object-Meta-Snow": value})
    stored = " ".join(store.objects["/v1/a/c/o"][0].values())
    # the whole value, not a fragment: "caf" alone turns up in random base64 now and then
    assert value not in stored and "\u2603".encode("utf-8").decode("latin-1") not in stored
    assert "X-Object-Meta-Snow" not in store.objects["/v1/a/c/o"][0]
    assert call(app, "/v1/a/c/o").headers["X-Object-Meta-Snow"] == value


def test_post_replaces_encrypted_metadata(store, app):
    call(app, "/v1/a/c/o", "PUT", b"data", {"X-Object-Meta-Old": "1"})
    assert call(app, "/v1/a/c/o", "POST", headers={"X-Object-Meta-New": "2"}).status_int == 202
    meta = store.objects["/v1/a/c/o"][0]
    assert "X-Object-Meta-New" not in meta
    resp = call(app, "/v1/a/c/o")
    assert resp.headers["X-Object-Meta-New"] == "2"
    assert "X-Object-Meta-Old" not in resp.headers
    assert resp.body == b"data"


def test_client_etag_mismatch_is_422_and_nothing_stored(store, app):
    resp = call(app, "/v1/a/c/o", "PUT", b"data", {"Etag": md5(b"other")})
    assert resp.status_int == 422
    assert "/v1/a/c/o" not in store.objects


def _uncaught_footers_backend(stored, lazy):
    """A backend that reads the body, calls the footers callback without
    catching what it raises, then stores (``lazy``: all of it only once
    its response is iterated, as a generator app does)."""
    def put(environ, start_response):
        body = environ["wsgi.input"].read()
        footers = {}
        environ["swift.callback.update_footers"](footers)
        stored.append((body, footers))
        start_response("201 Created", [("Content-Length", "0"), ("Etag", md5(body))])
        yield b""

    def backend(environ, start_response):
        response = put(environ, start_response)
        return response if lazy else list(response)

    return backend


@pytest.mark.parametrize("lazy", [False, True])
def test_client_etag_mismatch_is_answered_422_by_the_filter(lazy):
    stored = []
    app = pipeline(_uncaught_footers_backend(stored, lazy))
    resp = call(app, "/v1/a/c/o", "PUT", b"data", {"Etag": md5(b"other")})
    assert resp.status_int == 422
    assert resp.body == b"Etag does not match the MD5 of the body received"
    assert stored == []
    resp = call(app, "/v1/a/c/o", "PUT", b"data", {"Etag": md5(b"data")})
    assert (resp.status_int, resp.headers["Etag"]) == (201, md5(b"data"))
    assert len(stored) == 1 and stored[0][0] != b"data"


def test_other_exceptions_of_the_backend_are_not_taken_for_the_422():
    def backend(environ, start_response):
        environ["wsgi.input"].read()
        raise ValueError("backend bug")

    with pytest.raises(ValueError, match="backend bug"):
        call(pipeline(backend), "/v1/a/c/o", "PUT", b"data", {"Etag": md5(b"other")})


def test_client_etag_match_is_accepted(app):
    assert call(app, "/v1/a/c/o", "PUT", b"data", {"Etag": '"%s"' % md5(b"data")}).status_int == 201


def test_zero_byte_object_has_no_body_crypto(store, app):
    resp = call(app, "/v1/a/c/empty", "PUT", b"")
    assert resp.status_int == 201
    meta, stored = store.objects["/v1/a/c/empty"]
    assert stored == b""
    assert not [k for k in meta if k.lower().startswith("x-object-sysmeta-crypto")]
    assert "X-Object-Sysmeta-Container-Update-Override-Etag" not in meta
    resp = call(app, "/v1/a/c/empty")
    assert resp.body == b"" and resp.headers["Etag"] == md5(b"")


@pytest.mark.parametrize("rng", ["bytes=0-0", "bytes=5-20", "bytes=17-", "bytes=-7",
                                 "bytes=16-31", "bytes=999-1999"])
def test_single_range_decrypts(app, rng):
    body = os.urandom(2000)
    call(app, "/v1/a/c/o", "PUT", body)
    resp = call(app, "/v1/a/c/o", headers={"Range": rng})
    assert resp.status_int == 206
    start, end = rng[6:].split("-")
    if start == "":
        expected = body[-int(end):]
    else:
        expected = body[int(start): int(end) + 1 if end else None]
    assert resp.body == expected


def test_multipart_byteranges_rewriter_decrypts_each_part():
    key, iv = ciphers.random_key(), ciphers.random_iv()
    plain = os.urandom(500)
    cipher = ciphers.encrypt(key, iv, plain)
    ranges = [(0, 9), (33, 80), (490, 499)]
    parts = []
    for s, e in ranges:
        parts.append(b"--XB\r\nContent-Type: text/plain\r\nContent-Range: bytes %d-%d/500\r\n\r\n"
                     % (s, e) + cipher[s:e + 1] + b"\r\n")
    body = b"".join(parts) + b"--XB--\r\n"
    rewriter = ByterangesRewriter(b"XB", lambda start: ciphers.decryptor(key, iv, start))
    out = b"".join(rewriter.feed(body[i:i + 7]) for i in range(0, len(body), 7))
    out += rewriter.finish()
    for s, e in ranges:
        assert (b"Content-Range: bytes %d-%d/500\r\n\r\n" % (s, e)) + plain[s:e + 1] in out
    assert out.endswith(b"--XB--\r\n")
    assert len(out) == len(body)


def test_conditional_requests_match_plaintext_etag(app):
    body = b"conditional"
    call(app, "/v1/a/c/o", "PUT", body)
    assert call(app, "/v1/a/c/o", headers={"If-Match": '"%s"' % md5(body)}).status_int == 200
    assert call(app, "/v1/a/c/o", headers={"If-Match": '"nope"'}).status_int == 412
    resp = call(app, "/v1/a/c/o", headers={"If-None-Match": md5(body)})
    assert resp.status_int == 304
    assert resp.headers["Etag"] == md5(body)
    assert call(app, "/v1/a/c/o", headers={"If-None-Match": "nope"}).status_int == 200


def test_rotation_reads_old_objects_and_conditionals_match(store):
    old = pipeline(store, encryption_root_secret=SECRET_A)
    call(old, "/v1/a/c/old", "PUT", b"old body", {"X-Object-Meta-M": "old"})
    rotated = pipeline(store, encryption_root_secret=SECRET_A,
                       encryption_root_secret_2=SECRET_B, active_root_secret_id="2")
    call(rotated, "/v1/a/c/new", "PUT", b"new body", {"X-Object-Meta-M": "new"})
    assert "secret_id" in store.objects["/v1/a/c/new"][0]["X-Object-Sysmeta-Crypto-Body-Meta"]
    for name, body in (("old", b"old body"), ("new", b"new body")):
        resp = call(rotated, "/v1/a/c/" + name)
        assert resp.body == body and resp.headers["X-Object-Meta-M"] == name
        assert call(rotated, "/v1/a/c/" + name,
                    headers={"If-Match": md5(body)}).status_int == 200
        assert call(rotated, "/v1/a/c/" + name,
                    headers={"If-None-Match": md5(body)}).status_int == 304
    listing = json.loads(call(rotated, "/v1/a/c").body)
    assert {e["name"]: e["hash"] for e in listing} == {
        "old": md5(b"old body"), "new": md5(b"new body")}


def test_listing_decrypts_hashes_and_marks_unknown(store, caplog):
    app = pipeline(store, encryption_root_secret=SECRET_A,
                   encryption_root_secret_x=SECRET_B, active_root_secret_id="x")
    call(app, "/v1/a/c/one", "PUT", b"1")
    call(pipeline(store), "/v1/a/c/two", "PUT", b"2")
    forgetful = pipeline(store, encryption_root_secret=SECRET_A)  # lost secret "x"
    with caplog.at_level(logging.ERROR):
        resp = call(forgetful, "/v1/a/c", headers={"Accept": "application/json"})
    assert resp.status_int == 200
    hashes = {e["name"]: e["hash"] for e in json.loads(resp.body)}
    assert hashes == {"one": "<unknown>", "two": md5(b"2")}
    assert "error decrypting listing etag" in caplog.text


def test_wrong_root_secret_is_500_not_garbage(store, caplog):
    call(pipeline(store), "/v1/a/c/o", "PUT", b"secret body")
    wrong = pipeline(store, encryption_root_secret=SECRET_B)
    with caplog.at_level(logging.ERROR):
        resp = call(wrong, "/v1/a/c/o")
    assert resp.status_int == 500
    assert b"secret body" not in resp.body
    assert store.objects["/v1/a/c/o"][1] not in resp.body
    assert "/v1/a/c/o" in caplog.text and "Etag" in caplog.text


def test_metadata_moved_between_objects_is_detected(store):
    app = pipeline(store)
    call(app, "/v1/a/c/one", "PUT", b"one")
    call(app, "/v1/a/c/two", "PUT", b"two")
    meta_one, _ = store.objects["/v1/a/c/one"]
    meta_two, body_two = store.objects["/v1/a/c/two"]
    swapped = dict(meta_two, **{k: v for k, v in meta_one.items() if "Crypto-Etag" in k})
    store.objects["/v1/a/c/two"] = (swapped, body_two)
    assert call(app, "/v1/a/c/two").status_int == 500


def test_bad_crypto_meta_is_500_with_log(store, app, caplog):
    call(app, "/v1/a/c/o", "PUT", b"body")
    meta, body = store.objects["/v1/a/c/o"]
    meta["X-Object-Sysmeta-Crypto-Body-Meta"] = "not%20json"
    with caplog.at_level(logging.ERROR):
        resp = call(app, "/v1/a/c/o")
    assert resp.status_int == 500
    assert body not in resp.body
    assert "X-Object-Sysmeta-Crypto-Body-Meta" in caplog.text


def test_disable_encryption_stores_plaintext_but_still_decrypts(store):
    call(pipeline(store), "/v1/a/c/enc", "PUT", b"encrypted before")
    app = pipeline(store, {"disable_encryption": "true"})
    call(app, "/v1/a/c/plain", "PUT", b"plain now", {"X-Object-Meta-K": "v"})
    assert store.objects["/v1/a/c/plain"][1] == b"plain now"
    assert store.objects["/v1/a/c/plain"][0]["X-Object-Meta-K"] == "v"
    assert call(app, "/v1/a/c/enc").body == b"encrypted before"


def test_unencrypted_objects_pass_through(store, app):
    store.objects["/v1/a/c/legacy"] = ({"Etag": md5(b"old"), "Content-Type": "text/plain",
                                        "X-Object-Meta-A": "b"}, b"old")
    resp = call(app, "/v1/a/c/legacy")
    assert resp.body == b"old" and resp.headers["X-Object-Meta-A"] == "b"
    assert call(app, "/v1/a/c/legacy", headers={"If-Match": md5(b"old")}).status_int == 200


@pytest.mark.parametrize("flag", [True, "true", "yes", "1"])
def test_override_passes_through(store, app, flag):
    call(app, "/v1/a/c/o", "PUT", b"raw", **{"swift.crypto.override": flag})
    assert store.objects["/v1/a/c/o"][1] == b"raw"


@pytest.mark.parametrize("flag", [False, "false", "no", "0", "", None])
def test_override_read_as_swift_reads_it(store, app, flag):
    # Swift reads the flag with config_true_value: a "false" string left by
    # a middleware must not turn encryption off
    call(app, "/v1/a/c/o", "PUT", b"raw", **{"swift.crypto.override": flag})
    assert store.objects["/v1/a/c/o"][1] != b"raw"
    assert call(app, "/v1/a/c/o").body == b"raw"


def test_non_swift_paths_pass_through_and_non_utf8_paths_are_refused(store, app):
    call(app, "/info", headers={"If-Match": "abc"})
    assert store.requests[-1][2]["If-Match"] == "abc"  # reached the backend untouched
    environ = {"PATH_INFO": "/v1/a/c/\xff\xfe", "REQUEST_METHOD": "PUT"}
    req = Request.blank("/", environ=environ, body=b"zz")
    req.environ["PATH_INFO"] = "/v1/a/c/\xff\xfe"
    assert req.get_response(app).status_int == 412  # as Swift's proxy answers
    assert not store.objects  # never stored in plaintext


def test_cors_exposes_decrypted_metadata(app):
    call(app, "/v1/a/c/o", "PUT", b"x", {"X-Object-Meta-Shown": "1"})
    resp = call(app, "/v1/a/c/o", headers={"Origin": "http://example.com"})
    exposed = resp.headers["Access-Control-Expose-Headers"].lower()
    assert "x-object-meta-shown" in exposed and "etag" in exposed


def test_metadata_limits_checked_on_plaintext(store, app):
    resp = call(app, "/v1/a/c/o", "PUT", b"x", {"X-Object-Meta-Big": "v" * 257})
    assert resp.status_int == 400 and b"256" in resp.body
    assert "/v1/a/c/o" not in store.objects
    # At the limit: fine, although the ciphertext is longer.
    assert call(app, "/v1/a/c/o", "PUT", b"x", {"X-Object-Meta-Big": "v" * 256}).status_int == 201


def test_missing_keymaster_is_500(store):
    app = encryption_factory({})(store)
    resp = call(app, "/v1/a/c/o", "PUT", b"x")
    assert resp.status_int == 500
    assert "/v1/a/c/o" not in store.objects


def test_chunked_reads_produce_same_object(store, app):
    body = os.urandom(100_000)

    class Trickle:
        def __init__(self, data):
            self.data = data

        def read(self, size=-1):
            size = 777 if size is None or size < 0 else min(size, 777)
            chunk, self.data = self.data[:size], self.data[size:]
            return chunk

    req = Request.blank("/v1/a/c/o", method="PUT")
    req.environ["wsgi.input"] = Trickle(body)
    req.environ["CONTENT_LENGTH"] = str(len(body))
    assert req.get_response(app).status_int == 201
    assert call(app, "/v1/a/c/o").body == body


def test_body_failing_mid_stream_is_logged_and_raised(caplog):
    from swiftcrypt.middleware.decrypter import BodyCutShort, DecryptingIter
    from swiftcrypt.common.errors import CryptoError

    def transform(chunk):
        if chunk == b"bad":
            raise CryptoError("boom")
        return chunk.upper()

    closed = []

    class Source(list):
        def close(self):
            closed.append(True)

    it = DecryptingIter(Source([b"ok", b"bad", b"never"]), transform, None,
                        logging.getLogger("swiftcrypt.test"), "/v1/a/c/o")
    got = []
    with caplog.at_level(logging.ERROR), pytest.raises(BodyCutShort):
        for chunk in it:
            got.append(chunk)
    it.close()
    assert got == [b"OK"] and closed == [True]
    assert "/v1/a/c/o" in caplog.text and "cut short" in caplog.text


def test_non_utf8_metadata_values_round_trip_as_bytes(store, app):
    # Swift accepts any bytes in object metadata values; so do we, encrypted.
    raw = "\xff\xfe caf\xe9"
    assert call(app, "/v1/a/c/o", "PUT", b"x", {"X-Object-Meta-Raw": raw}).status_int == 201
    assert raw not in " ".join(store.objects["/v1/a/c/o"][0].values())
    assert call(app, "/v1/a/c/o").headers["X-Object-Meta-Raw"] == raw


def test_reserved_names_with_nul_are_encrypted(store, app):
    # Swift's own internal requests (object versioning) use NULs in names.
    path = "/v1/a/\x00versions\x00c/\x00o"
    req = Request.blank("/", method="PUT", body=b"versioned body")
    req.environ["PATH_INFO"] = path
    req.headers["X-Backend-Allow-Reserved-Names"] = "true"
    assert req.get_response(app).status_int == 201
    assert store.objects[path][1] != b"versioned body"
    req = Request.blank("/")
    req.environ["PATH_INFO"] = path
    assert req.get_response(app).body == b"versioned body"


# --- one environ scan for the metadata checks and encryption ----------------------------

_env_keys = st.sampled_from([
    "HTTP_X_OBJECT_META_COLOR", "HTTP_X_OBJECT_META_", "HTTP_X_OBJECT_META", "HTTP_HOST",
    "HTTP_X_OBJECT_META_A_B", "HTTP_x_object_meta_low", "HTTP_X-OBJECT-META-DASH",
    "HTTP_X_OBJECT_METAX", "HTTP_X_OBJECT_META-MIX", "CONTENT_TYPE", "CONTENT_LENGTH",
    "HTTP_X_AUTH_TOKEN", "REQUEST_METHOD", "wsgi.something",
]) | st.text(alphabet="HTP_XOBJECMAa-", min_size=1, max_size=22)
_env_values = st.sampled_from(["", "v", "x" * 256, "x" * 257, "y" * 8193, "z" * 4000])


@settings(max_examples=300, deadline=None)
@given(environ=st.dictionaries(_env_keys, _env_values, max_size=30))
def test_object_metadata_scan_agrees_with_request_headers(environ):
    from swiftcrypt.middleware.constraints import metadata_problem
    from swiftcrypt.middleware.encrypter import object_metadata
    from swiftcrypt.common.environ import header_key, header_name, request_headers

    def headers_with_prefix(environ, prefix):
        # the readable reference object_metadata's one-pass scan must agree with
        key_prefix = header_key(prefix)
        return [(key, header_name(key), value) for key, value in list(environ.items())
                if key.startswith(key_prefix)]

    meta, checked = object_metadata(environ)
    assert (metadata_problem(checked) if checked else None) == \
        metadata_problem(request_headers(environ))
    assert meta == [(key, value) for key, _name, value
                    in headers_with_prefix(environ, "X-Object-Meta-")]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_header_keystone_authtoken_sets_to_none_is_no_header(store, app, method):
    # keystonemiddleware's authtoken sets OpenStack-System-Scope to None for
    # a project-scoped token: every object PUT/POST behind it raised TypeError
    if method == "POST":
        assert call(app, "/v1/a/c/o", "PUT", b"data").status_int == 201
    req = Request.blank("/v1/a/c/o", method=method, body=b"data" if method == "PUT" else b"",
                        headers={"X-Object-Meta-Color": "blue"})
    req.environ["HTTP_OPENSTACK_SYSTEM_SCOPE"] = None
    assert req.get_response(app).status_int == (201 if method == "PUT" else 202)
    resp = call(app, "/v1/a/c/o")
    assert resp.body == b"data" and resp.headers["X-Object-Meta-Color"] == "blue"
    assert "blue" not in json.dumps(store.objects["/v1/a/c/o"][0])


def test_metadata_with_unusual_spelling_is_counted_as_before():
    from swiftcrypt.middleware.encrypter import object_metadata

    environ = {"HTTP_X-OBJECT-META-A": "x" * 257, "HTTP_HOST": "h"}
    meta, checked = object_metadata(environ)
    assert meta == []
    assert checked == [("X-object-meta-a", "x" * 257)]


# --- routing shortcuts: writes skip the decrypter, plain reads skip the encrypter ----------

def test_writes_skip_the_decrypter_and_plain_reads_skip_the_encrypter(store, monkeypatch):
    from swiftcrypt.middleware.decrypter import Decrypter
    from swiftcrypt.middleware.encrypter import Encrypter

    seen = []
    original = Encrypter.handle_get_or_head

    def decrypter_call(self, env, start):
        seen.append(("decrypter", env["REQUEST_METHOD"]))
        return self.app(env, start)

    def encrypter_read(self, env, start, parts):
        seen.append(("encrypter", env["REQUEST_METHOD"]))
        return original(self, env, start, parts)

    monkeypatch.setattr(Decrypter, "__call__", decrypter_call)
    monkeypatch.setattr(Encrypter, "handle_get_or_head", encrypter_read)
    app = pipeline(store)
    body = os.urandom(100)
    assert call(app, "/v1/a/c/o", "PUT", body, {"X-Object-Meta-A": "b"}).status_int == 201
    assert call(app, "/v1/a/c/o", "POST", headers={"X-Object-Meta-A": "c"}).status_int in (
        202, 204, 405)
    assert seen == []
    resp = call(app, "/v1/a/c/o")
    assert resp.body == body and seen == []
    # a conditional read still has its etags masked by the encrypter
    resp = call(app, "/v1/a/c/o", headers={"If-None-Match": md5(body)})
    assert seen == [("encrypter", "GET"), ("decrypter", "GET")]
    assert resp.status_int in (200, 304)


def test_ciphers_of_keys_in_use_are_reused_across_requests(store):
    """The filter keeps a ShortCtr per object and container key (bounded):
    a second request under the same keys sets up no cipher for them, and
    what it writes and reads is what a fresh filter writes and reads."""
    from swiftcrypt.crypto.fast.ctr import ShortCtrCache
    from swiftcrypt.middleware.encryption import Encryption

    app = pipeline(store)
    encryption = app
    while not isinstance(encryption, Encryption):
        encryption = encryption.app
    assert isinstance(encryption.ciphers, ShortCtrCache)
    assert encryption.encrypter.ciphers is encryption.decrypter.ciphers is encryption.ciphers
    bodies = {name: os.urandom(100) for name in ("o1", "o2")}
    for name, body in bodies.items():
        assert call(app, "/v1/a/c/" + name, "PUT", body,
                    {"X-Object-Meta-Color": name}).status_int == 201
    assert len(encryption.ciphers) == 3  # the container's key, and each object's
    for name, body in bodies.items():
        for reader in (app, pipeline(store)):  # this filter, and a fresh one
            resp = call(reader, "/v1/a/c/" + name)
            assert resp.body == body and resp.headers["X-Object-Meta-Color"] == name
            assert resp.headers["Etag"] == md5(body)
    assert len(encryption.ciphers) == 3
    listing = json.loads(call(app, "/v1/a/c", query_string="format=json").body)
    assert [entry["hash"] for entry in listing] == [md5(b) for b in bodies.values()]
