"""Bad input, stored and from clients: a clear status, a log line naming
the object and header, nothing stored, no traceback, no ciphertext or
partial body presented as the object."""

import base64
import json
import logging
import os

import pytest
from webob import Request, Response

from swiftcrypt.crypto import cryptometa
from tests.support.memstore import MemStore
from tests.support.pipelines import OBJECT_PATH as PATH
from tests.support.pipelines import call, encrypting_pipeline
from swiftcrypt.common import checksums

SECRET = base64.b64encode(b"B" * 32).decode()
BODY = b"the plaintext body " * 50
BODY_META = "X-Object-Sysmeta-Crypto-Body-Meta"
ETAG = "X-Object-Sysmeta-Crypto-Etag"
ETAG_MAC = "X-Object-Sysmeta-Crypto-Etag-Mac"
USER_META = "X-Object-Transient-Sysmeta-Crypto-Meta-Color"
META_META = "X-Object-Transient-Sysmeta-Crypto-Meta"


def pipeline(backend):
    return encrypting_pipeline(backend, {"encryption_root_secret": SECRET})


@pytest.fixture
def store():
    return MemStore()


@pytest.fixture
def app(store):
    return pipeline(store)


@pytest.fixture
def stored(app, store):
    resp = call(app, method="PUT", body=BODY, headers={"X-Object-Meta-Color": "blue"})
    assert resp.status_int == 201
    return store.objects[PATH]


def _body_meta(meta):
    return cryptometa.load(meta[BODY_META])


def _replace_body_meta(meta, **changes):
    loaded = _body_meta(meta)
    for name, value in changes.items():
        if value is None:
            loaded.pop(name, None)
        else:
            loaded[name] = value
    return cryptometa.dump(loaded)


def _mangle(meta, header, new):
    meta[header] = new(meta) if callable(new) else new


BAD_STORED = {
    "body meta not JSON": (BODY_META, "not%20json%7B"),
    "body meta a JSON list": (BODY_META, "%5B1%2C2%5D"),
    "body meta short IV": (BODY_META, lambda m: _replace_body_meta(m, iv=b"\0" * 8)),
    "body meta IV not base64": (BODY_META, lambda m: m[BODY_META].replace(
        "%22iv%22%3A+%22", "%22iv%22%3A+%22%21%21")),
    "body meta unknown cipher": (BODY_META, lambda m: _replace_body_meta(m, cipher="ROT13")),
    "body meta no cipher": (BODY_META, lambda m: _replace_body_meta(m, cipher=None)),
    "body meta missing body key": (BODY_META, lambda m: _replace_body_meta(m, body_key=None)),
    "body key short": (BODY_META, lambda m: _replace_body_meta(
        m, body_key={"key": b"k" * 16, "iv": b"\0" * 16})),
    "body key not a dict": (BODY_META, lambda m: _replace_body_meta(m, body_key="x")),
    "unknown secret id": (BODY_META, lambda m: _replace_body_meta(
        m, key_id={"v": "2", "path": "/a/c/o", "secret_id": "gone"})),
    "key id bad version": (BODY_META, lambda m: _replace_body_meta(
        m, key_id={"v": "9", "path": "/a/c/o"})),
    "key id not a dict": (BODY_META, lambda m: _replace_body_meta(m, key_id="/a/c/o")),
    "etag without swift_meta": (ETAG, "d41d8cd98f00b204e9800998ecf8427e"),
    "etag not base64": (ETAG, lambda m: "!!!" + m[ETAG]),
    "etag meta not JSON": (ETAG, lambda m: m[ETAG].split(";")[0] + "; swift_meta=%7Bnope"),
    "etag short IV": (ETAG, lambda m: cryptometa.append(
        m[ETAG].split(";")[0], {"cipher": "AES_CTR_256", "iv": b"1234"})),
    "etag other ciphertext": (ETAG, lambda m: cryptometa.append(
        base64.b64encode(b"x" * 32).decode(), cryptometa.extract(m[ETAG])[1])),
    "etag mac mismatch": (ETAG_MAC, base64.b64encode(b"m" * 32).decode()),
    "user meta not base64": (USER_META, lambda m: "%%%" + m[USER_META]),
    "user meta without swift_meta": (USER_META, "Ymx1ZQ=="),
    "user meta unknown cipher": (USER_META, lambda m: cryptometa.append(
        m[USER_META].split(";")[0], {"cipher": "DES", "iv": b"\0" * 16})),
    "user meta key meta not JSON": (META_META, "%7B%7B"),
}


@pytest.mark.parametrize("case", sorted(BAD_STORED))
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_bad_stored_crypto_meta_is_500_with_log(app, store, stored, caplog, case, method):
    header, new = BAD_STORED[case]
    meta, ciphertext = stored
    _mangle(meta, header, new)
    with caplog.at_level(logging.DEBUG):
        resp = call(app, method=method)
    assert resp.status_int == 500
    if method == "GET":
        assert resp.body == b"Error decrypting object"
        assert ciphertext not in resp.body and BODY not in resp.body
    assert not [h for h in resp.headers if "crypto" in h.lower() or h.lower() == "etag"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    named = ETAG if header == ETAG_MAC else header  # the MAC checks the etag
    assert PATH in errors[0] and "header %s" % named in errors[0], errors[0]
    assert "Traceback" not in caplog.text


def test_bad_crypto_meta_on_one_object_leaves_others_readable(app, store, stored):
    call(app, "/v1/a/c/other", "PUT", b"fine")
    store.objects[PATH][0][BODY_META] = "garbage"
    assert call(app).status_int == 500
    resp = call(app, "/v1/a/c/other")
    assert (resp.status_int, resp.body) == (200, b"fine")


def test_truncated_ciphertext_is_never_a_complete_200(app, store, stored):
    """The object server returning fewer bytes than it announced: the
    decrypted response is short too, never padded or presented whole."""
    meta, ciphertext = stored

    def short_backend(environ, start_response):
        resp = Response(body=ciphertext, headers=meta)
        resp.headers["Content-Length"] = str(len(ciphertext))
        start_response(resp.status, resp.headerlist)
        return [ciphertext[:100]]

    got = {}
    environ = Request.blank(PATH).environ
    body = b"".join(pipeline(short_backend)(
        environ, lambda status, headers, exc_info=None: got.update(headers)))
    assert int(got["Content-Length"]) == len(BODY)
    assert body == BODY[:100]  # a prefix, which the client sees is short


# -- client input ---------------------------------------------------------

@pytest.mark.parametrize("etag", ['"%s"' % ("0" * 32), "nonsense", checksums.md5(b"x").hexdigest()])
def test_wrong_client_etag_is_422_and_nothing_stored(app, store, etag):
    resp = call(app, method="PUT", body=b"body", headers={"Etag": etag})
    assert resp.status_int == 422
    assert PATH not in store.objects


def test_wrong_client_etag_on_overwrite_keeps_previous_version(app, store, stored):
    before = dict(store.objects[PATH][0]), store.objects[PATH][1]
    resp = call(app, method="PUT", body=b"new", headers={"Etag": "0" * 32})
    assert resp.status_int == 422
    assert (dict(store.objects[PATH][0]), store.objects[PATH][1]) == before
    assert call(app).body == BODY


def _meta_headers(count, name_len=5, value_len=5):
    return {"X-Object-Meta-%s" % str(i).zfill(name_len): "v" * value_len
            for i in range(count)}


LIMITS = {
    "name too long": ({"X-Object-Meta-" + "n" * 129: "v"}, {"X-Object-Meta-" + "n" * 128: "v"}),
    "value too long": ({"X-Object-Meta-V": "v" * 257}, {"X-Object-Meta-V": "v" * 256}),
    "too many": (_meta_headers(91), _meta_headers(90)),
    "overall too large": (_meta_headers(17, 10, 246), _meta_headers(16, 10, 246)),
}


@pytest.mark.parametrize("case", sorted(LIMITS))
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_metadata_limits_on_plaintext(app, store, case, method):
    too_much, just_right = LIMITS[case]
    if method == "POST":
        assert call(app, method="PUT", body=b"x").status_int == 201
    before = dict(store.objects.get(PATH, ({}, b""))[0])
    seen = len(store.requests)
    resp = call(app, method=method, body=b"x" if method == "PUT" else None, headers=too_much)
    assert resp.status_int == 400, resp.body
    assert resp.body and b"Traceback" not in resp.body
    assert len(store.requests) == seen  # refused before the backend
    assert dict(store.objects.get(PATH, ({}, b""))[0]) == before
    resp = call(app, method=method, body=b"x" if method == "PUT" else None, headers=just_right)
    assert resp.status_int in (201, 202), resp.body


@pytest.mark.parametrize("range_header", ["bytes=%d-" % len(BODY), "bytes=99999-100000"])
def test_unsatisfiable_range_is_416(app, stored, range_header):
    _meta, ciphertext = stored
    resp = call(app, headers={"Range": range_header})
    assert resp.status_int == 416
    assert ciphertext[:16] not in resp.body


@pytest.mark.parametrize("range_header", ["bytes=abc", "bytes=5-2", "lines=1-2"])
def test_malformed_range_is_ignored_like_swift(app, stored, range_header):
    resp = call(app, headers={"Range": range_header})
    assert (resp.status_int, resp.body) == (200, BODY)


def test_suffix_and_open_ranges_decrypt(app, stored):
    assert call(app, headers={"Range": "bytes=-10"}).body == BODY[-10:]
    assert call(app, headers={"Range": "bytes=900-"}).body == BODY[900:]


@pytest.mark.parametrize("path", ["/v1/a/c/\xff", "/v1/a/\xc3/o", "/v1/a/c\xfe"])
@pytest.mark.parametrize("method", ["PUT", "POST", "GET", "HEAD", "DELETE"])
def test_non_utf8_paths_are_412(app, store, path, method):
    req = Request.blank("/", method=method, body=b"data" if method == "PUT" else b"")
    req.environ["PATH_INFO"] = path
    resp = req.get_response(app)
    assert resp.status_int == 412
    assert not store.objects and not store.requests


def test_non_json_listing_from_backend_is_500(caplog):
    def backend(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"5"]

    with caplog.at_level(logging.ERROR):
        resp = call(pipeline(backend), "/v1/a/c")
    assert resp.status_int == 500
    assert "/v1/a/c" in caplog.text


def test_listing_with_undecryptable_hash_shows_unknown(app, store, stored, caplog):
    meta, _ciphertext = stored
    meta["X-Object-Sysmeta-Container-Update-Override-Etag"] = "abc; swift_meta=%7Bbad"
    with caplog.at_level(logging.ERROR):
        resp = call(app, "/v1/a/c?format=json")
    assert resp.status_int == 200
    assert json.loads(resp.body)[0]["hash"] == "<unknown>"
    assert "error decrypting listing etag" in caplog.text


def test_listing_hash_with_a_list_key_id_shows_unknown(app, store, stored, caplog):
    """A key id that is a JSON array: <unknown>, not a TypeError out of
    the listing (found by fuzzing, listing_hash)."""
    meta, _ciphertext = stored
    listed, listed_meta = cryptometa.extract(
        meta["X-Object-Sysmeta-Container-Update-Override-Etag"])
    listed_meta["key_id"] = []
    meta["X-Object-Sysmeta-Container-Update-Override-Etag"] = cryptometa.append(
        listed, listed_meta)
    with caplog.at_level(logging.ERROR):
        resp = call(app, "/v1/a/c?format=json")
    assert resp.status_int == 200
    assert json.loads(resp.body)[0]["hash"] == "<unknown>"
    assert "error decrypting listing etag" in caplog.text


def test_large_random_body_round_trips(app):
    body = os.urandom(300000)
    assert call(app, method="PUT", body=body).status_int == 201
    assert call(app).body == body


def test_key_id_with_binary_fields_still_reads(app, store, stored):
    """Crypto-meta decodes any "iv"/"key" field at any depth to bytes, also
    inside a key id: that must not break key lookup (found by fuzzing)."""
    meta, _ciphertext = stored
    body_meta = cryptometa.load(meta[BODY_META])
    body_meta["key_id"]["iv"] = b"\x01" * 16
    meta[BODY_META] = cryptometa.dump(body_meta)
    listed, listed_meta = cryptometa.extract(
        meta["X-Object-Sysmeta-Container-Update-Override-Etag"])
    listed_meta["key_id"]["key"] = b"\x02" * 32
    meta["X-Object-Sysmeta-Container-Update-Override-Etag"] = cryptometa.append(
        listed, listed_meta)
    resp = call(app)
    assert (resp.status_int, resp.body) == (200, BODY)
    resp = call(app, "/v1/a/c?format=json")
    assert resp.status_int == 200
    assert json.loads(resp.body)[0]["hash"] == checksums.md5(BODY).hexdigest()
