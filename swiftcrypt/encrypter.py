"""The encrypting half of the encryption filter: object PUT and POST, and
conditional GET/HEAD (etags masked with the keys' HMAC).
"""

from swiftcrypt import ciphers, cryptometa
from swiftcrypt.bodyencryption import OVERRIDE_ETAG, BodyEncrypter, listing_etag_footer
from swiftcrypt.constraints import OBJECT_META_PREFIX, metadata_problem
from swiftcrypt.environ import (
    CaseInsensitive,
    header_key,
    headers_with_prefix,
    parse_etag_list,
    request_headers,
    strip_etag,
)
from swiftcrypt.httperrors import error_exception, respond
from swiftcrypt.keyderivation import etag_mac
from swiftcrypt.keys import KeysUnavailable, all_object_keys, fetch_keys, keys_unavailable

FOOTERS_CALLBACK = "swift.callback.update_footers"
TRANSIENT_META = "X-Object-Transient-Sysmeta-Crypto-Meta"
TRANSIENT_META_PREFIX = TRANSIENT_META + "-"
ETAG_IS_AT = "HTTP_X_BACKEND_ETAG_IS_AT"


class EncryptingInput:
    """``wsgi.input`` replacement: reads plaintext, returns ciphertext."""

    def __init__(self, wsgi_input, encrypter):
        self._input = wsgi_input
        self.encrypter = encrypter

    def read(self, *args, **kwargs):
        return self.encrypter.update(self._input.read(*args, **kwargs))

    def readline(self, *args, **kwargs):
        return self.encrypter.update(self._input.readline(*args, **kwargs))

    def __iter__(self):
        while True:
            chunk = self.read(65536)
            if not chunk:
                return
            yield chunk


def encrypt_user_metadata(environ, keys, object_cipher=None):
    """Move each non-empty X-Object-Meta-* value into encrypted transient
    sysmeta; record the cipher and key id once for the set.

    ``object_cipher``, a ShortCtr of the object key, saves a cipher set-up
    per value when the caller has one."""
    object_cipher = object_cipher or keys["object"]
    encrypted_any = False
    for key, name, value in headers_with_prefix(environ, OBJECT_META_PREFIX):
        if not value:
            continue  # an empty value means "remove" on POST: keep it plain
        short = name[len(OBJECT_META_PREFIX):]
        environ[header_key(TRANSIENT_META_PREFIX + short)] = cryptometa.encrypt_value(
            value.encode("latin-1"), object_cipher)
        del environ[key]
        encrypted_any = True
    if encrypted_any:
        environ[header_key(TRANSIENT_META)] = cryptometa.dump(
            {"cipher": "AES_CTR_256", "key_id": keys["id"]})


class Encrypter:
    """Encrypts object data and user metadata on the way to the backend."""

    def __init__(self, app, logger, disable_encryption=False):
        self.app = app
        self.logger = logger
        self.disable_encryption = disable_encryption

    def __call__(self, environ, start_response, parts):
        method = environ["REQUEST_METHOD"]
        try:
            if method == "PUT" and not self.disable_encryption:
                return self.handle_put(environ, start_response, parts)
            if method == "POST" and not self.disable_encryption:
                return self.handle_post(environ, start_response)
            if method in ("GET", "HEAD"):
                return self.handle_get_or_head(environ, start_response, parts)
        except KeysUnavailable as err:
            return keys_unavailable(self.logger, environ, start_response, err)
        return self.app(environ, start_response)

    def _check_metadata(self, environ, start_response):
        problem = metadata_problem(request_headers(environ))
        if problem:
            return respond(start_response, 400, problem)
        return None

    def handle_put(self, environ, start_response, parts):
        refused = self._check_metadata(environ, start_response)
        if refused is not None:
            return refused
        keys = fetch_keys(environ, ("object", "container"))
        object_cipher = ciphers.ShortCtr(keys["object"])
        encrypt_user_metadata(environ, keys, object_cipher)
        body = BodyEncrypter(keys["object"], keys["id"], object_cipher)
        environ["wsgi.input"] = EncryptingInput(environ["wsgi.input"], body)
        client_etag = environ.get("HTTP_ETAG")
        if client_etag is not None:
            client_etag = strip_etag(client_etag)
        header_override = environ.get(header_key(OVERRIDE_ETAG))
        inner_callback = environ.get(FOOTERS_CALLBACK)

        def footers_callback(footers):
            if inner_callback is not None:
                inner_callback(footers)
            get, put = CaseInsensitive.get, CaseInsensitive.set
            plaintext_etag = body.plaintext_etag
            if body.started:
                expected = get(footers, "Etag") or client_etag
                if expected is not None and strip_etag(expected) != plaintext_etag:
                    raise error_exception(
                        422, "Etag does not match the MD5 of the body received")
                for name, value in body.body_footers().items():
                    put(footers, name, value)
            elif client_etag is not None and get(footers, "Etag") is None:
                put(footers, "Etag", client_etag)
            listing_etag = get(footers, OVERRIDE_ETAG, header_override)
            if listing_etag is None:
                listing_etag = plaintext_etag
            encrypted = listing_etag_footer(
                listing_etag, body.started, keys["container"], keys["id"])
            if encrypted is not None:
                put(footers, OVERRIDE_ETAG, encrypted)

        environ[FOOTERS_CALLBACK] = footers_callback

        def put_start_response(status, headers, exc_info=None):
            if body.started and status[:1] == "2":
                cipher_etag = body.ciphertext_etag
                headers = [
                    (k, _replace_etag(v, cipher_etag, body.plaintext_etag)
                     if k.lower() == "etag" else v)
                    for k, v in headers]
            return start_response(status, headers, exc_info)

        return self.app(environ, put_start_response)

    def handle_post(self, environ, start_response):
        refused = self._check_metadata(environ, start_response)
        if refused is not None:
            return refused
        keys = fetch_keys(environ, ("object",))
        encrypt_user_metadata(environ, keys)
        return self.app(environ, start_response)

    def handle_get_or_head(self, environ, start_response, parts):
        originals = {}
        object_keys = None
        for key in ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH"):
            value = environ.get(key)
            if not value:
                continue
            if object_keys is None:
                object_keys = all_object_keys(environ, parts)
            originals[key] = value
            environ[key] = mask_etags(value, object_keys)
        if not originals:
            return self.app(environ, start_response)
        add_etag_is_at(environ, "X-Object-Sysmeta-Crypto-Etag-Mac")
        try:
            return self.app(environ, start_response)
        finally:
            # Middleware to our left (logging, say) should see what the
            # client sent, not our masked list.
            environ.update(originals)


def mask_etags(value, object_keys):
    """Each etag in ``value`` followed by its HMAC under every key, so that
    the backend can compare with the stored Etag-Mac whichever root secret
    wrote the object (and with a plain etag for unencrypted objects)."""
    out = []
    for etag in parse_etag_list(value):
        if etag == "*":
            out.append(etag)
            continue
        out.append('"%s"' % etag)
        out.extend('"%s"' % etag_mac(key, etag) for key in object_keys)
    return ", ".join(out)


def add_etag_is_at(environ, header):
    """Append ``header`` to the backend's list of where to find the etag."""
    current = environ.get(ETAG_IS_AT)
    environ[ETAG_IS_AT] = "%s,%s" % (current, header) if current else header


def _replace_etag(value, cipher_etag, plain_etag):
    if strip_etag(value) != cipher_etag:
        return value
    return '"%s"' % plain_etag if value.strip().startswith('"') else plain_etag
