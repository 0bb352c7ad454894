"""Property tests (hypothesis) over crypto-meta parsing and every
encrypted header value, end to end through the encryption filter.

The coverage-guided harnesses in tests/fuzz share the targets used here.
"""

import base64
import logging

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from webob import Request

from swiftcrypt.middleware import verify_body
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory
from tests.fuzz import targets
from tests.support.memstore import MemStore
from swiftcrypt.common import checksums

SECRET = base64.b64encode(b"P" * 32).decode()
PATH = "/v1/a/c/o"
CRYPTO_HEADERS = ("X-Object-Sysmeta-Crypto-Body-Meta", "X-Object-Sysmeta-Crypto-Etag",
                  "X-Object-Sysmeta-Crypto-Etag-Mac",
                  "X-Object-Transient-Sysmeta-Crypto-Meta",
                  "X-Object-Transient-Sysmeta-Crypto-Meta-Color")
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(st.characters(max_codepoint=0x2FFF), max_size=200)
wsgi_text = st.binary(max_size=300).map(lambda b: b.decode("latin-1"))


def pipeline(store, **conf):
    return keymaster_factory({}, encryption_root_secret=SECRET)(
        encryption_factory({}, **conf)(store))


def wsgi_call(app, method="GET", path=PATH, headers=None, body=None):
    req = Request.blank(path, method=method, headers=headers or {})
    if body is not None:
        req.body = body
    got = {}
    chunks, error = [], None
    try:
        for chunk in app(req.environ, lambda s, h, e=None: got.update(status=s, headers=h)):
            chunks.append(chunk)
    except verify_body.BodyCorrupt as err:
        error = err
    return int(got["status"][:3]), dict(got["headers"]), b"".join(chunks), error


# -- parsers never fail other than by refusing ----------------------------

@SETTINGS
@given(wsgi_text)
def test_load_and_extract_refuse_only_with_crypto_error(value):
    targets.cryptometa_load(value.encode("latin-1"))
    targets.cryptometa_extract(value.encode("latin-1"))


@SETTINGS
@given(text, st.binary(max_size=40), st.binary(max_size=40), st.binary(max_size=40),
       st.dictionaries(st.sampled_from(["v", "path", "secret_id"]), text, max_size=3))
def test_dump_load_round_trip(cipher, iv, wrapped, wrap_iv, key_id):
    from swiftcrypt.crypto import cryptometa

    meta = {"cipher": cipher, "iv": iv, "body_key": {"key": wrapped, "iv": wrap_iv},
            "key_id": key_id}
    assert cryptometa.load(cryptometa.dump(meta)) == meta


@SETTINGS
@given(st.one_of(st.dictionaries(st.sampled_from(["v", "path", "secret_id", "x"]),
                                 st.one_of(text, st.integers(), st.none()), max_size=4),
                 text, st.integers()),
       text.filter(bool), st.one_of(st.none(), text.filter(bool)),
       st.one_of(st.none(), text.filter(bool)))
def test_resolve_key_paths_refuses_only_with_crypto_error(key_id, account, container, obj):
    import json

    raw = json.dumps(key_id)
    if "\n" in account + (container or "") + (obj or ""):
        return
    targets.keyids_resolve(("%s\n%s\n%s\n%s" % (raw, account, container or "", obj or ""))
                           .encode("latin-1", "ignore"))


@SETTINGS
@given(st.binary(min_size=1, max_size=12), st.integers(1, 64), st.binary(max_size=600))
def test_byteranges_identity_rewrite(boundary, size, body):
    if b"\n" in boundary:
        return
    targets.byteranges_rewriter(boundary + b"\n" + bytes([size]) + body)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), min_size=1,
                max_size=4), st.binary(min_size=1, max_size=5000), st.integers(1, 97))
def test_byteranges_real_multipart_round_trips(ranges, data, chunk):
    """A well-formed multipart body passes through whatever its chunking."""
    boundary = b"XyZ"
    parts = []
    for start, end in ranges:
        start, end = sorted((start % len(data), end % len(data)))
        parts.append(b"--XyZ\r\nContent-Type: x\r\nContent-Range: bytes %d-%d/%d\r\n\r\n%s\r\n"
                     % (start, end, len(data), data[start:end + 1]))
    body = b"".join(parts) + b"--XyZ--\r\n"
    targets.byteranges_rewriter(boundary + b"\n" + bytes([chunk]) + body)


# -- every encrypted header value, end to end ------------------------------

# stored crypto headers that hold only crypto metadata, no ciphertext
META_ONLY = {"x-object-sysmeta-crypto-body-meta", "x-object-transient-sysmeta-crypto-meta"}
meta_value = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FFF), min_size=1,
                     max_size=60)


@SETTINGS
@given(meta_value, meta_value, st.binary(max_size=3000))
@example("blue-green", "AES_CTR_", b"x" * 20)  # in every swift_meta: not a leak
def test_every_header_round_trips_and_is_stored_encrypted(color, note, body):
    store = MemStore()
    app = pipeline(store)
    headers = {"X-Object-Meta-Color": color.encode().decode("latin-1"),
               "X-Object-Meta-Note": note.encode().decode("latin-1")}
    status, resp_headers, _body, _err = wsgi_call(app, "PUT", headers=headers, body=body)
    assert status == 201
    etag = checksums.md5(body).hexdigest()
    assert resp_headers["Etag"] == etag
    meta, stored = store.objects[PATH]
    # Only the ciphertexts: header names, the content type and the crypto
    # metadata beside each ciphertext (cipher name, IVs, key id with the
    # path) are plain by design and could contain a generated value by
    # chance (a note of "AES_CTR_" is in every swift_meta).
    stored_text = repr([v.split("; swift_meta=")[0] for k, v in meta.items()
                        if ("crypto" in k.lower() and k.lower() not in META_ONLY)
                        or k.lower().startswith("x-object-meta-")])
    for value in headers.values():
        if len(value) >= 8:  # short values could appear in base64 by chance
            assert value not in stored_text
    if len(body) >= 16:
        assert body not in stored
        assert etag not in stored_text  # the plaintext MD5 is encrypted too
    status, resp_headers, got, _err = wsgi_call(app)
    assert (status, got) == (200, body)
    assert resp_headers["Etag"] == etag
    for name, value in headers.items():
        assert resp_headers[name] == value
    listing = wsgi_call(app, path="/v1/a/c?format=json")[2]
    assert ('"hash": "%s"' % etag).encode() in listing


@SETTINGS
@given(st.sampled_from(CRYPTO_HEADERS),
       st.tuples(st.sampled_from(["replace", "flip", "truncate", "append"]),
                 st.integers(0, 10 ** 6), st.integers(1, 127), wsgi_text),
       st.booleans())
def test_mutated_crypto_headers_never_serve_a_wrong_complete_body(header, mutation, verify):
    """Any change to stored crypto metadata gives a 500, or the right body,
    or - with verify_body - a response cut short; without verify_body a
    changed body meta can decrypt to garbage: that is the gap it closes."""
    store = MemStore()
    app = pipeline(store, verify_body=str(verify))
    body = b"the object body, long enough to matter " * 20
    assert wsgi_call(app, "PUT", headers={"X-Object-Meta-Color": "blue"}, body=body)[0] == 201
    meta, stored = store.objects[PATH]
    original = meta[header]
    kind, where, bits, extra = mutation
    pos = where % len(original)  # drawn before the (random) value existed
    if kind == "replace":
        value = extra
    elif kind == "flip":
        value = original[:pos] + chr(ord(original[pos]) ^ bits) + original[pos + 1:]
    elif kind == "truncate":
        value = original[:pos]
    else:
        value = original + extra
    meta[header] = value
    logger = logging.getLogger("swiftcrypt")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        status, headers, got, error = wsgi_call(app)
    finally:
        logger.removeHandler(handler)
    assert status in (200, 500)
    if status == 500:
        # verify_body refuses a one-chunk body it found wrong before sending
        refusals = [b"Error decrypting object"] + (
            [b"The stored object is corrupt"] if verify else [])
        assert got in refusals
        assert any(PATH in r.getMessage() for r in records)
        return
    assert stored not in got
    if error is not None:  # verify_body caught it
        assert verify and len(got) < len(body)
    elif got != body:
        assert not verify and header == "X-Object-Sysmeta-Crypto-Body-Meta"
        assert len(got) == len(body)


@SETTINGS
@given(st.integers(0, 999), st.integers(0, 999))
def test_any_satisfiable_range_decrypts(first, second):
    store = MemStore()
    app = pipeline(store)
    body = (bytes(range(256)) * 4)[:1000]
    wsgi_call(app, "PUT", body=body)
    start, end = sorted((first, second))
    status, headers, got, _err = wsgi_call(app, headers={"Range": "bytes=%d-%d" % (start, end)})
    assert (status, got) == (206, body[start:end + 1])
    assert headers["Content-Range"] == "bytes %d-%d/1000" % (start, end)
