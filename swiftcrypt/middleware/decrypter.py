"""The decrypting half of the encryption filter: object GET/HEAD responses
(etag, user metadata, body whole, ranged or multipart), container
listings and encrypted account and container metadata (dbmeta.py).

Beyond Swift: the decrypted etag is checked against the stored Etag-Mac,
so a wrong root secret, or crypto metadata moved between objects, gives a
500 rather than garbage presented as the object.
"""

import base64
import hmac
import json
import re
from html import escape, unescape

from swiftcrypt.crypto import ciphers

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import account_container_metadata as acmeta

from swiftcrypt.crypto import keyids

from swiftcrypt.common import metrics

from swiftcrypt.middleware import verify_body
from swiftcrypt.common.audit import audit
from swiftcrypt.common.names import CRYPTO_PREFIXES, BODY_META, ETAG, ETAG_MAC, OVERRIDE_ETAG
from swiftcrypt.middleware.byteranges import ByterangesRewriter, parse_content_range
from swiftcrypt.middleware.encrypter import TRANSIENT_META, TRANSIENT_META_PREFIX
from swiftcrypt.common.errors import CryptoError, DecryptionFailed
from swiftcrypt.common.httperrors import respond
from swiftcrypt.crypto.derivation import etag_mac
from swiftcrypt.middleware.keycallback import KeysUnavailable, keys_unavailable, fetch_keys
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.common.wsgicontext import call_app

_CRYPTO_PREFIXES = CRYPTO_PREFIXES
_TRANSIENT_PREFIX_L = TRANSIENT_META_PREFIX.lower()
_OVERRIDE_L = OVERRIDE_ETAG.lower()
UNKNOWN_ETAG = "<unknown>"
_XML_HASH = re.compile(r"<hash>([^<]*)</hash>")


class ObjectKeys:
    """Keys for one object response, fetched per stored key id, once each,
    and a ShortCtr per key (one cipher set-up however many values)."""

    def __init__(self, environ):
        self.environ = environ
        self._fetched = []  # (key id, keys): a response holds one or two ids
        self._ciphers = {}

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
        short = self._ciphers.get(key)
        if short is None:
            short = self._ciphers[key] = ciphers.ShortCtr(key)
        return short


def _cache_key(key_id):
    """A dict key for a stored key id (any JSON a header may hold): always
    hashable, and never that of another key id - a string spelling a
    nested one's JSON must not get its key unchecked."""
    if isinstance(key_id, dict):
        try:
            return frozenset(key_id.items())
        except TypeError:  # nested values: rare, never written by us or Swift
            return ("json", json.dumps(key_id, sort_keys=True, default=repr))
    if isinstance(key_id, list):  # (JSON gives no tuples: no clash with the above)
        return ("json", json.dumps(key_id, sort_keys=True, default=repr))
    return key_id


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
    found = {}
    others = []  # (lower-case name, name, value) of everything else
    for name, value in headers:
        lname = name.lower()
        if lname.startswith(_CRYPTO_PREFIXES) or lname == _OVERRIDE_L:
            found[lname] = (name, value)
        else:
            others.append((lname, name, value))
    if not found:
        return None
    result = DecryptedObject()
    body_meta_value = found.get(_BODY_META_L)
    body_key_id = None
    if body_meta_value:
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

    replaced = set()
    etag_value = found.get(_ETAG_L)
    if etag_value:
        object_key = keys.get(body_key_id, ETAG)["object"]
        parsed = _extract(ETAG, etag_value[1])
        etag = _decrypt(ETAG, parsed, keys.cipher(object_key)).decode("latin-1")
        mac_value = found.get(_ETAG_MAC_L)
        if mac_value and not hmac.compare_digest(
                etag_mac(object_key, etag).encode(), mac_value[1].strip().encode("latin-1")):
            raise DecryptionFailed(ETAG, "decrypted etag does not match its MAC "
                                   "(wrong root secret or tampered metadata)", body_key_id,
                                   wrong_key=True)
        result.etag = etag
        result.headers.append(("Etag", etag))
        replaced.add("etag")

    override_value = found.get(_OVERRIDE_L)
    if override_value:
        value = override_value[1]
        if "swift_meta=" in value:  # else plain: an empty body's MD5, say
            parsed = _extract(OVERRIDE_ETAG, value)
            key_id = parsed[1].get("key_id", body_key_id)
            container_key = keys.get(key_id, OVERRIDE_ETAG)["container"]
            value = _decrypt(OVERRIDE_ETAG, parsed, container_key).decode("latin-1")
        result.headers.append((OVERRIDE_ETAG, value))
        replaced.add(_OVERRIDE_L)

    if found.keys() - _STANDARD_L:
        _decrypt_user_metadata(found, keys, result, replaced)

    out = result.headers
    for lname, name, value in others:
        if lname not in replaced:
            out.append((name, value))
            if lname == "content-type":
                if result.content_type is None:
                    result.content_type = value
            elif lname == "content-range" and result.content_range is None:
                result.content_range = value
    return result


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
    """Decrypts responses on their way back to the client."""

    metrics = metrics.NONE  # the Encryption filter's

    def __init__(self, app, logger):
        self.app = app
        self.logger = logger

    def __call__(self, environ, start_response):
        parts = request_parts(environ)
        if parts is None:
            return self.app(environ, start_response)
        _version, _account, container, obj = parts
        method = environ["REQUEST_METHOD"]
        if obj is not None and method in ("GET", "HEAD"):
            return self.handle_object(environ, start_response)
        if obj is None and container is not None and method in ("GET", "HEAD"):
            return self.handle_container(environ, start_response)
        if container is None and method in ("GET", "HEAD"):
            return self.handle_account(environ, start_response)
        return self.app(environ, start_response)

    def _fail(self, environ, start_response, resp, err):
        resp.close()
        self.logger.error(
            "error decrypting object %s (header %s, key id %s): %s",
            environ.get("PATH_INFO"), err.header, _describe_key_id(err.key_id), err.reason)
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
        try:
            decrypted = decrypt_object_headers(resp.headers, ObjectKeys(environ))
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
            headers = _expose(headers, decrypted.exposed)
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

    def handle_account(self, environ, start_response):
        """Account GET/HEAD: decrypt account metadata (a listing's body
        holds no encrypted values)."""
        resp = call_app(self.app, environ)
        failed = self._decrypt_db_meta(environ, start_response, resp, acmeta.ACCOUNT)
        return failed if failed is not None else resp.send(start_response)

    def _decrypt_db_meta(self, environ, start_response, resp, level):
        """Decrypt ``level``'s metadata in ``resp``'s headers; the error
        response to send instead, or None."""
        if not level.has_encrypted(resp.headers):
            return None
        # always, option on or off: values stay readable once written
        try:
            self._replace_db_meta(environ, resp, level)
        except DecryptionFailed as err:
            resp.close()
            self.logger.error(
                "error decrypting %s metadata of %s (header %s, key id %s): %s",
                level.kind, environ.get("PATH_INFO"), err.header,
                _describe_key_id(err.key_id), err.reason)
            return respond(start_response, 500, "Error decrypting %s metadata" % level.kind)
        except KeysUnavailable as err:
            resp.close()
            return keys_unavailable(self.logger, environ, start_response, err)
        return None

    def handle_container(self, environ, start_response):
        resp = call_app(self.app, environ)
        failed = self._decrypt_db_meta(environ, start_response, resp, acmeta.CONTAINER)
        if failed is not None:
            return failed
        if not resp.is_success or environ["REQUEST_METHOD"] != "GET":
            return resp.send(start_response)
        content_type = resp.header("Content-Type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            rewrite = self._rewrite_json
        elif content_type in ("application/xml", "text/xml"):
            rewrite = self._rewrite_xml
        else:
            return resp.send(start_response)
        try:
            body = b"".join(resp.app_iter)
        finally:
            resp.close()
        listing = ListingDecrypter(environ, self.logger)
        try:
            new_body = rewrite(body, listing)
        except ValueError:
            self.logger.error("container listing for %s is not valid %s",
                              environ.get("PATH_INFO"), content_type)
            return respond(start_response, 500, "Error decrypting container listing")
        resp.app_iter = [new_body]
        resp.set_header("Content-Length", str(len(new_body)))
        return resp.send(start_response)

    @staticmethod
    def _replace_db_meta(environ, resp, level):
        keys = {}
        _version, account, container, _obj = request_parts(environ)

        def key_for(key_id):  # CryptoError: the value's fault, named by header
            cache_key = _cache_key(key_id)
            if cache_key not in keys:
                # whatever the keymaster: a value moved from elsewhere stays unreadable
                keyids.check_db_key_id(key_id, account, container)
                keys[cache_key] = fetch_keys(environ, (level.kind,), key_id)[level.kind]
            return keys[cache_key]

        headers, exposed = level.decrypt_response_headers(resp.headers, key_for)
        if exposed and environ.get("HTTP_ORIGIN"):
            headers = acmeta.expose(headers, exposed)
        resp.headers = headers

    @staticmethod
    def _rewrite_json(body, listing):
        entries = json.loads(body)
        if not isinstance(entries, list):
            raise ValueError("a JSON listing must be an array")
        for entry in entries:
            if isinstance(entry, dict) and "hash" in entry:
                entry["hash"] = listing.decrypt(entry["hash"], entry.get("name"))
        return json.dumps(entries).encode("ascii")

    @staticmethod
    def _rewrite_xml(body, listing):
        text = body.decode("utf-8")

        def replace(match):
            return "<hash>%s</hash>" % escape(
                listing.decrypt(unescape(match.group(1)), None), quote=False)

        return _XML_HASH.sub(replace, text).encode("utf-8")


class ListingDecrypter:
    """Decrypts listing etags, keys cached per key id for the listing.

    Fast path: every entry of a listing carries the same crypto-meta but
    for its IV, so the serialized meta is split at the IV; the rest is
    parsed, checked and resolved to a key once per listing (by the general
    path), and each entry costs a base64 decode and one ECB call. Anything
    not in that shape takes the general path.
    """

    def __init__(self, environ, logger):
        self.environ = environ
        self.logger = logger
        self._keys = {}
        self._reported = set()
        self._by_rest = {}  # meta text without its IV -> ShortCtr (or None: no fast path)

    def decrypt(self, value, name):
        """The plaintext etag for a listing ``hash`` value, or <unknown>."""
        if not isinstance(value, str) or "swift_meta=" not in value:
            return value
        match = _LISTING_META.match(value)
        if match is not None:
            ctr = self._by_rest.get(_rest_key(match.group(3)))
            if ctr is not None:
                try:
                    iv = _b64_strict(_unquote_b64(match.group(2)))
                    ciphertext = _b64_strict(match.group(1))
                    if len(iv) == ciphers.IV_SIZE:
                        return ctr.crypt(iv, ciphertext).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    pass  # the general path reports it
        return self._decrypt_general(value, name, match)

    def _decrypt_general(self, value, name, match):
        try:
            ciphertext, meta = cryptometa.extract(value)
            cryptometa.check(meta)
            key_id = meta.get("key_id")
            cache_key = _cache_key(key_id)
            key = self._keys.get(cache_key)
            if key is None:
                key = fetch_keys(self.environ, ("container",), key_id)["container"]
                self._keys[cache_key] = key
            plaintext = cryptometa.decrypt_value(ciphertext, key, meta).decode("utf-8")
            if match is not None and set(meta) <= {"cipher", "iv", "key_id"}:
                rest = _rest_key(match.group(3))
                if rest not in self._by_rest:
                    self._by_rest[rest] = ciphers.ShortCtr(key)
            return plaintext
        except (CryptoError, KeysUnavailable, UnicodeDecodeError, AttributeError) as err:
            reason = "%s: %s" % (err.__class__.__name__, err)
            if reason not in self._reported:  # once per listing, not per entry
                self._reported.add(reason)
                self.logger.error("error decrypting listing etag in %s (object %r): %s",
                                  self.environ.get("PATH_INFO"), name, reason)
            return UNKNOWN_ETAG


# "<b64>; swift_meta=" + quote_plus of JSON {"cipher": "AES_CTR_256", "iv": "<b64>", ...}
_LISTING_META = re.compile(
    r"([A-Za-z0-9+/]*={0,2}); swift_meta="
    r"%7B%22cipher%22%3A\+%22AES_CTR_256%22%2C\+%22iv%22%3A\+%22"
    r"((?:[A-Za-z0-9]|%2B|%2F){22}(?:%3D){2})%22(%2C\+[A-Za-z0-9%+._~-]*)?%7D\Z")


# The key_id part: an object path /acct/cont/<obj> (v2, v3) gives the same
# container key for every object, so the object name is cut from the cache
# key; anything else (v1, quoted account or container names) stays whole.
_KEY_ID_REST = re.compile(
    r"(%2C\+%22key_id%22%3A\+%7B%22path%22%3A\+%22%2F[A-Za-z0-9._~+-]+%2F[A-Za-z0-9._~+-]+)"
    r"%2F.*"
    r"(%22(?:%2C\+%22secret_id%22%3A\+%22[A-Za-z0-9._~+-]*%22)?%2C\+%22v%22%3A\+%22[23]%22%7D)"
    r"\Z")


def _rest_key(rest):
    if rest is None:
        return None
    match = _KEY_ID_REST.match(rest)
    return rest if match is None else match.group(1) + "/" + match.group(2)


def _unquote_b64(text):
    return text.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")


def _b64_strict(text):
    return base64.b64decode(text, validate=True)


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


def _expose(headers, names):
    """Add decrypted header names to Access-Control-Expose-Headers."""
    out = []
    found = False
    for name, value in headers:
        if name.lower() == "access-control-expose-headers":
            found = True
            value = ", ".join([value] + names) if value else ", ".join(names)
        out.append((name, value))
    if not found:
        out.append(("Access-Control-Expose-Headers", ", ".join(["etag"] + names)))
    return out


def _describe_key_id(key_id):
    if not isinstance(key_id, dict):
        return "-"
    return "secret_id=%s v=%s" % (key_id.get("secret_id", "(default)"), key_id.get("v"))
