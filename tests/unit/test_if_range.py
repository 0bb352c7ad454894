"""If-Range through the encryption filter: an entity tag is masked like
If-Match (the backend compares it with the stored Etag-Mac), a date or a
weak tag passes untouched, and the client's value is restored after."""

import base64

import pytest

from swiftcrypt.middleware.encrypter import is_strong_etag
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.crypto.derivation import etag_mac
from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory

SECRET = base64.b64encode(bytes(range(32))).decode("ascii")
ETAG = "0123456789abcdef0123456789abcdef"


def _pipeline(seen):
    def backend(environ, start_response):
        seen.update(environ)
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    encryption = encryption_factory({})(backend)
    return keymaster_factory({}, encryption_root_secret=SECRET)(encryption)


def _get(headers):
    seen = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/a/c/o", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": None, **headers}
    app = _pipeline(seen)
    body = app(environ, lambda *a: None)
    list(body)
    return seen, environ


@pytest.mark.parametrize("value, strong", [
    ('"%s"' % ETAG, True), (' "x"', True), (ETAG, True), ("W/\"%s\"" % ETAG, False),
    ("Thu, 01 Jan 2015 00:00:00 GMT", False), ("", False)])
def test_is_strong_etag(value, strong):
    assert is_strong_etag(value) is strong


@pytest.mark.parametrize("sent_etag", ['"%s"' % ETAG, ETAG])
def test_an_if_range_etag_is_masked_for_the_backend(sent_etag):
    seen, environ = _get({"HTTP_IF_RANGE": sent_etag, "HTTP_RANGE": "bytes=0-9"})
    sent = [item.strip().strip('"') for item in seen["HTTP_IF_RANGE"].split(",")]
    assert sent[0] == ETAG and len(sent) >= 2
    # each further candidate is the etag's HMAC under an object key, which
    # is what the store finds at the Etag-Is-At header
    assert all(len(item) == 44 for item in sent[1:])  # base64 of a SHA-256 HMAC
    assert "X-Object-Sysmeta-Crypto-Etag-Mac" in seen["HTTP_X_BACKEND_ETAG_IS_AT"]
    assert environ["HTTP_IF_RANGE"] == sent_etag  # restored for filters to our left


def test_the_mask_is_the_object_keys_mac():
    from swiftcrypt.crypto.derivation import derive_key

    seen, _environ = _get({"HTTP_IF_RANGE": '"%s"' % ETAG})
    sent = [item.strip().strip('"') for item in seen["HTTP_IF_RANGE"].split(",")]
    key = derive_key(bytes(range(32)), "/a/c/o")
    assert etag_mac(key, ETAG) in sent


@pytest.mark.parametrize("value", ["Thu, 01 Jan 2015 00:00:00 GMT", 'W/"%s"' % ETAG])
def test_a_date_or_weak_tag_passes_untouched(value):
    seen, _environ = _get({"HTTP_IF_RANGE": value, "HTTP_RANGE": "bytes=0-9"})
    assert seen["HTTP_IF_RANGE"] == value
    assert "HTTP_X_BACKEND_ETAG_IS_AT" not in seen
