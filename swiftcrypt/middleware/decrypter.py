"""Object reads: the encryption filter's decryption of object GET/HEAD
responses (etag, user metadata, body whole, ranged or multipart).
Container listings are ``listings``'s, account and container metadata
``account_container_metadata``'s, the names exposed to CORS ``cors``'s.

Beyond Swift: the decrypted etag is checked against the stored Etag-Mac,
so a wrong root secret, or crypto metadata moved between objects, gives a
500 rather than garbage presented as the object.
"""

import hmac

from swiftcrypt.common import metrics
from swiftcrypt.common.audit import audit
from swiftcrypt.common.errors import CryptoError, DecryptionFailed
from swiftcrypt.common.httperrors import respond
from swiftcrypt.common.names import (
    BODY_META, CRYPTO_PREFIXES, ETAG, ETAG_MAC, OVERRIDE_ETAG, STORED_HEADERS)
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.common.wsgicontext import call_app
from swiftcrypt.crypto import ciphers, cryptometa, keyids, listing_etag
from swiftcrypt.crypto.derivation import etag_mac
from swiftcrypt.crypto.fast.ctr import ShortCtrCache
from swiftcrypt.crypto.fast.hmac import MacCache
from swiftcrypt.middleware import verify_body
from swiftcrypt.middleware.byteranges import ByterangesRewriter, parse_content_range
from swiftcrypt.middleware.cors import expose_object_headers
from swiftcrypt.middleware.encrypter import TRANSIENT_META, TRANSIENT_META_PREFIX
from swiftcrypt.middleware.keycallback import KeysUnavailable, fetch_keys, keys_unavailable

_CRYPTO_PREFIXES = CRYPTO_PREFIXES
_TRANSIENT_PREFIX_L = TRANSIENT_META_PREFIX.lower()
_OVERRIDE_L = OVERRIDE_ETAG.lower()


class ObjectKeys:
    """Keys for one object response, fetched per stored key id, once each,
    and a ShortCtr per key from ``ciphers`` (a ShortCtrCache: one cipher
    set-up however many values, and none for a key in use before)."""

    def __init__(self, environ, ciphers=None, macs=None):
        self.environ = environ
        self._fetched = []  # (key id, keys): a response holds one or two ids
        self._ciphers = ciphers if ciphers is not None else ShortCtrCache()
        self._macs = macs if macs is not None else MacCache()

    def get(self, key_id, header):
        for known, keys in self._fetched:
            if known == key_id:
                return keys
        try:
            keys = fetch_keys(self.environ, ("container",), key_id)
        except CryptoError as err:
            raise DecryptionFailed(header, "no key: %s" % err, key_id) from err
        self._fetched.append((key_id, keys))
        return keys

    def cipher(self, key):
        return self._ciphers.get(key)

    def mac(self, key):
        return self._macs.get(key)


def _load_meta(header, value):
    try:
        return cryptometa.load(value)
    except CryptoError as err:
        raise DecryptionFailed(header, str(err)) from err


def _extract(header, value):
    """``(base64 ciphertext, meta)`` of an encrypted value."""
    try:
        ciphertext, meta = cryptometa.extract(value)
    except CryptoError as err:
        raise DecryptionFailed(header, str(err)) from err
    if meta is None:
        raise DecryptionFailed(header, "value has no swift_meta")
    return ciphertext, meta


def _decrypt(header, parsed, key):
    try:
        return cryptometa.decrypt_value(parsed[0], key, parsed[1])
    except CryptoError as err:
        raise DecryptionFailed(header, str(err)) from err


class DecryptedObject:
    """What decrypting an object response's headers found.

    ``content_type`` and ``content_range`` are the response's first such
    headers (passed on unchanged), for the body's decryption."""

    __slots__ = ("headers", "exposed", "body_key", "body_iv", "etag",
                 "content_type", "content_range")

    def __init__(self):
        self.headers = []
        self.exposed = []
        self.body_key = None
        self.body_iv = None
        self.etag = None
        self.content_type = None
        self.content_range = None


_BODY_META_L = BODY_META.lower()
_ETAG_L = ETAG.lower()
_ETAG_MAC_L = ETAG_MAC.lower()
_TRANSIENT_META_L = TRANSIENT_META.lower()
_STANDARD_L = frozenset((_BODY_META_L, _ETAG_L, _ETAG_MAC_L, _OVERRIDE_L))


def decrypt_object_headers(headers, keys):
    """Decrypt a GET/HEAD response's headers.

    Returns a DecryptedObject, or None when the object carries no crypto
    metadata (written before encryption was enabled). Raises
    DecryptionFailed for anything stored that does not decrypt.
    """
    found, others = _split_crypto_headers(headers)
    if not found:
        return None
    result = DecryptedObject()
    body_key_id = _unwrap_body_key(found, keys, result)
    replaced = set()
    _decrypt_etag(found, keys, body_key_id, result, replaced)
    _decrypt_listing_etag(found, keys, body_key_id, result, replaced)
    if found.keys() - _STANDARD_L:
        _decrypt_user_metadata(found, keys, result, replaced)
    _pass_on(others, replaced, result)
    return result


def _split_crypto_headers(headers):
    """``(found, others)``: ``{lower-case name: (name, value)}`` of the
    crypto headers, and ``(lower-case name, name, value)`` of the rest."""
    found = {}
    others = []
    for name, value in headers:
        lname = name.lower()
        if lname.startswith(_CRYPTO_PREFIXES) or lname == _OVERRIDE_L:
            found[lname] = (name, value)
        else:
            others.append((lname, name, value))
    return found, others


def _unwrap_body_key(found, keys, result):
    """Set the result's body key and IV from the body's crypto-meta, if
    any; the key id it names (None without one)."""
    body_meta_value = found.get(_BODY_META_L)
    if not body_meta_value:
        return None
    meta = _load_meta(BODY_META, body_meta_value[1])
    try:
        cryptometa.check(meta)
    except CryptoError as err:
        raise DecryptionFailed(BODY_META, str(err)) from err
    body_key_id = meta.get("key_id")
    object_key = keys.get(body_key_id, BODY_META).get("object")
    if object_key is None:
        raise DecryptionFailed(BODY_META, "keymaster gave no object key", body_key_id)
    if "body_key" not in meta:
        raise DecryptionFailed(BODY_META, "no body key")
    try:
        result.body_key = ciphers.unwrap_key(keys.cipher(object_key), meta["body_key"])
    except CryptoError as err:
        raise DecryptionFailed(BODY_META, str(err), body_key_id) from err
    result.body_iv = meta["iv"]
    return body_key_id


def _decrypt_etag(found, keys, body_key_id, result, replaced):
    """The object's etag, decrypted and checked against its MAC."""
    etag_value = found.get(_ETAG_L)
    if not etag_value:
        return
    object_key = keys.get(body_key_id, ETAG)["object"]
    parsed = _extract(ETAG, etag_value[1])
    etag = _decrypt(ETAG, parsed, keys.cipher(object_key)).decode("latin-1")
    mac_value = found.get(_ETAG_MAC_L)
    if mac_value and not hmac.compare_digest(
            etag_mac(keys.mac(object_key), etag).encode(), mac_value[1].strip().encode("latin-1")):
        raise DecryptionFailed(ETAG, "decrypted etag does not match its MAC "
                               "(wrong root secret or tampered metadata)", body_key_id,
                               wrong_key=True)
    result.etag = etag
    result.headers.append(("Etag", etag))
    replaced.add("etag")


def _decrypt_listing_etag(found, keys, body_key_id, result, replaced):
    """The container listing's etag override, decrypted with the
    container key (plain when it was stored plain)."""
    override_value = found.get(_OVERRIDE_L)
    if not override_value:
        return
    value = override_value[1]
    if listing_etag.is_encrypted(value):  # else plain: an empty body's MD5, say
        parsed = _extract(OVERRIDE_ETAG, value)
        key_id = parsed[1].get("key_id", body_key_id)
        container_key = keys.get(key_id, OVERRIDE_ETAG)["container"]
        value = _decrypt(OVERRIDE_ETAG, parsed, keys.cipher(container_key)).decode("latin-1")
    result.headers.append((OVERRIDE_ETAG, value))
    replaced.add(_OVERRIDE_L)


def _pass_on(others, replaced, result):
    """The other headers, unless a decrypted one replaces them; noting the
    content type and range."""
    out = result.headers
    for lname, name, value in others:
        if lname not in replaced:
            out.append((name, value))
            if lname == "content-type":
                if result.content_type is None:
                    result.content_type = value
            elif lname == "content-range" and result.content_range is None:
                result.content_range = value


def _decrypt_user_metadata(found, keys, result, replaced):
    user_meta = [(lname, nv) for lname, nv in found.items()
                 if lname.startswith(_TRANSIENT_PREFIX_L)]
    if not user_meta:
        return
    post_meta_value = found.get(_TRANSIENT_META_L)
    post_key_id = None
    if post_meta_value:
        post_key_id = _load_meta(TRANSIENT_META, post_meta_value[1]).get("key_id")
    object_cipher = keys.cipher(keys.get(post_key_id, TRANSIENT_META)["object"])
    for _lname, (name, value) in sorted(user_meta):
        plain_name = "X-Object-Meta-" + name[len(TRANSIENT_META_PREFIX):]
        plaintext = _decrypt(name, _extract(name, value), object_cipher).decode("latin-1")
        result.headers.append((plain_name, plaintext))
        result.exposed.append(plain_name.lower())
        replaced.add(plain_name.lower())


class Decrypter:
    """Decrypts object GET/HEAD responses on their way back to the
    client; other requests pass through."""

    metrics = metrics.NONE  # the Encryption filter's

    def __init__(self, app, logger, ciphers=None, macs=None):
        self.app = app
        self.logger = logger
        self.ciphers = ciphers if ciphers is not None else ShortCtrCache()
        self.macs = macs if macs is not None else MacCache()

    def __call__(self, environ, start_response):
        parts = request_parts(environ)
        if parts is None:
            return self.app(environ, start_response)
        if parts[3] is not None and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            return self.handle_object(environ, start_response)
        return self.app(environ, start_response)

    def _fail(self, environ, start_response, resp, err):
        resp.close()
        self.logger.error(
            "error decrypting object %s (header %s, key id %s): %s",
            environ.get("PATH_INFO"), err.header, keyids.describe(err.key_id), err.reason)
        reason = failure_reason(err)
        self.metrics.increment("failures." + reason)
        if reason == "wrong_key":
            key_id = err.key_id if isinstance(err.key_id, dict) else {}
            audit(self.logger, "refused", request_account(environ),
                  secret_id=key_id.get("secret_id"), key_id=key_id.get("path"), status=500,
                  method=environ.get("REQUEST_METHOD"), why=reason, reason=err.reason)
        return respond(start_response, 500, "Error decrypting object")

    def handle_object(self, environ, start_response):
        resp = call_app(self.app, environ)
        if environ.get(STORED_HEADERS) is True:
            environ[STORED_HEADERS] = list(resp.headers)
        try:
            decrypted = decrypt_object_headers(
                resp.headers, ObjectKeys(environ, self.ciphers, self.macs))
        except DecryptionFailed as err:
            return self._fail(environ, start_response, resp, err)
        except KeysUnavailable as err:
            resp.close()
            return keys_unavailable(self.logger, environ, start_response, err)
        if decrypted is None:
            return resp.send(start_response)
        headers = decrypted.headers
        decrypt_body = decrypted.body_key is not None and resp.is_success
        if decrypt_body:
            headers.append(("X-Backend-Crypto-Cipher", ciphers.CIPHER))  # as Swift reports
            environ[verify_body.DECRYPTED_ETAG] = decrypted.etag
        if decrypted.exposed and environ.get("HTTP_ORIGIN"):
            headers = expose_object_headers(headers, decrypted.exposed)
        resp.headers = headers
        if decrypt_body and environ["REQUEST_METHOD"] == "GET":
            try:
                resp.app_iter = self._body_iter(environ, resp, decrypted)
            except (ValueError, CryptoError) as err:
                return self._fail(environ, start_response, resp,
                                  DecryptionFailed("Content-Range", str(err)))
        return resp.send(start_response)

    def _body_iter(self, environ, resp, decrypted):
        key, iv = decrypted.body_key, decrypted.body_iv
        content_type = decrypted.content_type or ""
        if resp.status_int == 206 and content_type.split(";")[0].strip().lower() == \
                "multipart/byteranges":
            boundary = _boundary(content_type)
            rewriter = ByterangesRewriter(
                boundary, lambda start: ciphers.decryptor(key, iv, start))
            return DecryptingIter(resp.app_iter, rewriter.feed, rewriter.finish,
                                  self.logger, environ.get("PATH_INFO"), self.metrics)
        offset = 0
        if decrypted.content_range:
            offset = parse_content_range(decrypted.content_range)[0]
        ctx = ciphers.decryptor(key, iv, offset)
        return DecryptingIter(resp.app_iter, ctx.update, None,
                              self.logger, environ.get("PATH_INFO"), self.metrics)

def failure_reason(err):
    """The metric name of a DecryptionFailed: ``wrong_key`` when the etag
    MAC made with the object's key does not match (not the key it was
    written with, or tampered), else ``bad_crypto_meta``."""
    return "wrong_key" if err.wrong_key else "bad_crypto_meta"


def request_account(environ):
    parts = request_parts(environ)
    return parts[1] if parts else None


class BodyCutShort(Exception):
    """Raised from a response body that could not be decrypted to the end."""


class DecryptingIter:
    """Body iterator that decrypts as it goes and closes what it wraps.

    A failure mid-stream cannot become an error status any more: the
    object is logged and the iterator raises, so the server drops the
    connection and the client sees fewer bytes than Content-Length (merely
    stopping would leave a keep-alive client waiting for the rest).
    """

    def __init__(self, app_iter, transform, finish, logger, path, metrics_=metrics.NONE):
        self._app_iter = app_iter
        self._transform = transform
        self._finish = finish
        self._logger = logger
        self._path = path
        self._metrics = metrics_

    def __iter__(self):
        sent = 0
        try:
            for chunk in self._app_iter:
                chunk = self._transform(chunk)
                sent += len(chunk)
                yield chunk
            if self._finish is not None:
                tail = self._finish()
                if tail:
                    sent += len(tail)
                    yield tail
        except CryptoError as err:
            self._logger.error("error decrypting body of %s: %s; response cut short",
                               self._path, err)
            self._metrics.increment("failures.bad_crypto_meta")
            raise BodyCutShort(self._path) from err
        finally:
            self._metrics.increment("decrypted.requests")
            self._metrics.increment("decrypted.bytes", sent)

    def close(self):
        close = getattr(self._app_iter, "close", None)
        if close is not None:
            close()


def _boundary(content_type):
    for param in content_type.split(";")[1:]:
        name, _eq, value = param.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip('"').encode("latin-1")
    raise CryptoError("multipart/byteranges without a boundary")

