"""The encrypting half of the encryption filter: object PUT and POST, and
conditional GET/HEAD (etags masked with the keys' HMAC).
"""

import io

from swiftcrypt.common import etags, metrics, names
from swiftcrypt.common.environ import header_key, header_name, offer_body_hash
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.httperrors import error_exception, respond
from swiftcrypt.common.wsgicontext import call_app
from swiftcrypt.crypto import cryptometa, listing_etag
from swiftcrypt.crypto.body import BodyEncrypter
from swiftcrypt.crypto.derivation import etag_mac
from swiftcrypt.crypto.fast.ctr import ShortCtr, ShortCtrCache
from swiftcrypt.crypto.fast.hmac import MacCache
from swiftcrypt.middleware.constraints import MAX_HEADER_SIZE, OBJECT_META_PREFIX, metadata_problem
from swiftcrypt.middleware.keycallback import (
    KeysMissing,
    KeysUnavailable,
    all_object_keys,
    fetch_keys,
    keys_unavailable,
)

FOOTERS_CALLBACK = names.FOOTERS_CALLBACK
TRANSIENT_META = names.USER_META_SET
TRANSIENT_META_PREFIX = TRANSIENT_META + "-"
ETAG_IS_AT = names.ETAG_IS_AT
_OVERRIDE_ETAG_KEY = header_key(listing_etag.HEADER)
_MISSING = object()
ETAG_MISMATCH = "Etag does not match the MD5 of the body received"


class EncryptingInput:
    """``wsgi.input`` replacement: reads plaintext, returns ciphertext."""

    def __init__(self, wsgi_input, encrypter):
        self._input = wsgi_input
        self.encrypter = encrypter
        self.bytes = 0  # plaintext read (for the metrics), as much ciphertext returned
        self.hashed = None  # the store's hash, once it took ours over

    def accept_body_hash(self, hashed):
        """A store reading straight from us hashes what it writes
        (swiftcrypt.common.environ.take_body_hash): the ciphertext MD5 is
        then ``hashed.etag``. Refused once any byte has been read."""
        if self.bytes or not self.encrypter.hand_off_ciphertext_hash(lambda: hashed.etag):
            return False
        self.hashed = hashed
        return True

    def hashed_all(self):
        """False when the store that took the hash over did not get every
        ciphertext byte we returned (someone else read from us): its MD5
        is then not the ciphertext's."""
        return self.hashed is None or self.hashed.size == self.bytes

    def read(self, *args, **kwargs):
        chunk = self._input.read(*args, **kwargs)
        self.bytes += len(chunk)
        return self.encrypter.update(chunk)

    def readline(self, *args, **kwargs):
        chunk = self._input.readline(*args, **kwargs)
        self.bytes += len(chunk)
        return self.encrypter.update(chunk)

    def __iter__(self):
        while True:
            chunk = self.read(65536)
            if not chunk:
                return
            yield chunk


_META_KEY = header_key(OBJECT_META_PREFIX)  # HTTP_X_OBJECT_META_
_TRANSIENT_META_KEY = header_key(TRANSIENT_META_PREFIX)


def object_metadata(environ):
    """``(meta, checked)`` of a request in one pass over its environ.

    ``meta``: ``(environ key, value)`` of each X-Object-Meta-* header.
    ``checked``: ``(name, value)`` of the headers metadata_problem can
    object to - object metadata, and values too long for any header - in
    request order; it passes over all others, so its answer for these is
    its answer for the whole request.
    """
    meta = []
    checked = []
    for key, value in environ.items():
        if value is None:  # no header (keystonemiddleware sets some keys to None)
            continue
        if key[:5] == "HTTP_":
            if key[:19] == _META_KEY:
                meta.append((key, value))
            elif not (len(value) > MAX_HEADER_SIZE or _other_meta_spelling(key)):
                continue
            checked.append((header_name(key), value))
        elif key in _CONTENT_KEYS and len(value) > MAX_HEADER_SIZE:
            checked.append((key.replace("_", "-").title(), value))
    return meta, checked


_CONTENT_KEYS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def _other_meta_spelling(key):
    # An environ key no WSGI server makes (lower case, "-") that still
    # names object metadata: request_headers() would present it as such.
    return len(key) >= 19 and key[18] in "_-" and \
        key[5:19].upper().replace("-", "_") == _META_KEY[5:]


def encrypt_user_metadata(environ, keys, object_cipher=None, meta=None):
    """Move each non-empty X-Object-Meta-* value into encrypted transient
    sysmeta; record the cipher and key id once for the set.

    ``object_cipher``, a ShortCtr of the object key, saves a cipher set-up
    per value when the caller has one; ``meta`` is object_metadata()'s
    first item when the caller has it."""
    if meta is None:
        meta = object_metadata(environ)[0]
    if not meta:
        return
    object_cipher = object_cipher or keys["object"]
    encrypted_any = False
    for key, value in meta:
        if not value:
            continue  # an empty value means "remove" on POST: keep it plain
        transient = _TRANSIENT_META_KEY + key[len(_META_KEY):].upper().replace("-", "_")
        environ[transient] = cryptometa.encrypt_value(value.encode("latin-1"), object_cipher)
        del environ[key]
        encrypted_any = True
    if encrypted_any:
        environ[header_key(TRANSIENT_META)] = cryptometa.dump(
            {"cipher": names.CIPHER, "key_id": keys["id"]})


def _update_footers(footers, updates):
    """Set each of ``updates`` in ``footers``, replacing other spellings."""
    if footers:
        lnames = {name.lower() for name in updates}
        for key in [k for k in footers if k.lower() in lnames]:
            del footers[key]
    footers.update(updates)


class Encrypter:
    metrics = metrics.NONE  # the Encryption filter's
    """Encrypts object data and user metadata on the way to the backend."""

    def __init__(self, app, logger, disable_encryption=False, write_app=None, ciphers=None,
                 macs=None):
        """``app`` serves reads (the decrypter); ``write_app`` (default
        ``app``) every other method: the decrypter only passes those on,
        so the encryption filter hands us the app after it. ``ciphers``:
        the ShortCtrCache to take the keys' ciphers from, ``macs`` the
        MacCache their Etag-Mac HMACs."""
        self.app = app
        self.write_app = write_app if write_app is not None else app
        self.logger = logger
        self.disable_encryption = disable_encryption
        self.ciphers = ciphers if ciphers is not None else ShortCtrCache()
        self.macs = macs if macs is not None else MacCache()

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
        return self.write_app(environ, start_response)

    def _check_metadata(self, environ, start_response):
        """``(meta, refusal)``: object_metadata()'s meta, and the 400 to
        answer with when the metadata breaks Swift's limits."""
        meta, checked = object_metadata(environ)
        problem = metadata_problem(checked) if checked else None
        if problem:
            return meta, respond(start_response, 400, problem)
        return meta, None

    def handle_put(self, environ, start_response, parts):
        """Encrypt an object PUT: its user metadata now, its body as it
        streams, its etags in the footers (see PutFooters)."""
        meta, refused = self._check_metadata(environ, start_response)
        if refused is not None:
            return refused
        keys = fetch_keys(environ, ("object", "container"))
        object_cipher = self.ciphers.get(keys["object"])
        encrypt_user_metadata(environ, keys, object_cipher, meta)
        body = BodyEncrypter(keys["object"], keys["id"], object_cipher,
                             _content_length(environ), self.macs.get(keys["object"]))
        encrypting = environ["wsgi.input"] = EncryptingInput(environ["wsgi.input"], body)
        offer_body_hash(environ, encrypting)
        footers = PutFooters(environ, body, keys, self.ciphers.get(keys["container"]),
                             encrypting)
        environ[FOOTERS_CALLBACK] = footers.update
        try:
            # call_app: a lazy backend calls the callback once iterated
            resp = call_app(self.write_app, environ)
        except Exception as err:
            # A backend may let the callback's exception out (the contract
            # does not make it catch it): ours is our answer to give.
            if footers.raised(err):
                return respond(start_response, 422, ETAG_MISMATCH)
            raise
        if resp.is_success:
            self.metrics.increment("encrypted.requests")
            self.metrics.increment("encrypted.bytes", encrypting.bytes)
        if body.started and resp.is_success:
            cipher_etag = body.ciphertext_etag
            resp.headers = [
                (k, _replace_etag(v, cipher_etag, body.plaintext_etag)
                 if k.lower() == "etag" else v)
                for k, v in resp.headers]
        return resp.send(start_response)

    def handle_post(self, environ, start_response):
        meta, refused = self._check_metadata(environ, start_response)
        if refused is not None:
            return refused
        keys = fetch_keys(environ, ("object",))
        encrypt_user_metadata(environ, keys, meta=meta)
        return self.write_app(environ, start_response)

    def handle_get_or_head(self, environ, start_response, parts):
        originals = {}
        object_keys = None
        for key in CONDITIONAL_ETAG_HEADERS:
            value = environ.get(key)
            if not value or (key == "HTTP_IF_RANGE" and not is_strong_etag(value)):
                continue  # an If-Range date is the backend's to compare
            if object_keys is None:
                object_keys = all_object_keys(environ, parts)
            originals[key] = value
            environ[key] = mask_etags(value, object_keys)
        if not originals:
            return self.app(environ, start_response)
        add_etag_is_at(environ, names.ETAG_MAC)
        try:
            return self.app(environ, start_response)
        finally:
            # Middleware to our left (logging, say) should see what the
            # client sent, not our masked list.
            environ.update(originals)


class DbMetaEncrypter:
    """Account or container PUT/POST (``level``: dbmeta.ACCOUNT or
    CONTAINER): user metadata to encrypted sysmeta (``encrypt``: the
    encrypt_<level>_metadata option) and, always, the removal of
    encrypted copies the request removes (dbmeta.py)."""

    def __init__(self, app, logger, level, encrypt, plain_names, decrypter=None):
        self.app = app
        self.logger = logger
        self.level = level
        self.encrypt = encrypt
        self.plain_names = plain_names
        self.decrypter = decrypter or app  # reads the current set (plaintext)
        kind = level.kind.upper()
        self._own_headers = ("HTTP_X_%s_" % kind, "HTTP_X_REMOVE_%s_" % kind)

    def __call__(self, environ, start_response):
        level = self.level
        if not self.encrypt:
            level.rewrite_request(environ, self.plain_names)
            return self.app(environ, start_response)
        problem = level.metadata_refusal(environ) or self._accumulated_refusal(environ)
        if problem:
            return respond(start_response, 400, problem)
        cipher = []  # the keys are fetched only when a value needs them

        def encrypt(plaintext):
            if not cipher:
                keys = self._keys(environ)
                cipher.extend((ShortCtr(keys[level.kind]), keys["id"]))
            return cryptometa.encrypt_value(plaintext, cipher[0], key_id=cipher[1])

        try:
            level.rewrite_request(environ, self.plain_names, encrypt)
        except KeysUnavailable as err:
            return keys_unavailable(self.logger, environ, start_response, err)
        return self.app(environ, start_response)

    def _keys(self, environ):
        kind = self.level.kind
        try:
            keys = fetch_keys(environ, (kind,))
            if "id" not in keys:
                raise KeysMissing("keymaster gave no key id for the %s key" % kind)
        except CryptoError as err:
            # e.g. account_keymaster's active secret gone since its
            # listing was cached: a 500 here, which it answers as 410
            raise KeysUnavailable("keymaster failed: %s" % err.__class__.__name__) from err
        except KeysMissing as err:
            if kind == "account":
                # not a keymaster failing: no callback, or no account key in
                # what it gave (Swift's keymaster gives none): say what to change
                raise KeysMissing(
                    "%s; encrypt_account_metadata needs swiftcrypt's keymaster, "
                    "kms_keymaster or account_keymaster before encryption" % err) from err
            raise
        return keys

    def _accumulated_refusal(self, environ):
        """Level.accumulated_refusal against the account or container as it
        is now, read with a HEAD through the decrypter. Nothing to check
        when the HEAD is not answered 2xx (a new container, or a user who
        may write but not read): the per-request limits still hold."""
        if not self.level.sets_values(environ):
            return None  # removals only: the set can only shrink
        head = {key: value for key, value in environ.items()
                if not key.startswith(self._own_headers)}
        head.update({"REQUEST_METHOD": "HEAD", "QUERY_STRING": "", "CONTENT_LENGTH": "0",
                     "wsgi.input": io.BytesIO(b"")})
        head.pop("HTTP_TRANSFER_ENCODING", None)
        resp = call_app(self.decrypter, head)
        resp.close()
        if not resp.is_success:
            return None
        return self.level.accumulated_refusal(resp.headers, environ)


CONDITIONAL_ETAG_HEADERS = ("HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_RANGE")


def is_strong_etag(value):
    """True for an If-Range value that is an entity tag a strong
    comparison could match: not a weak tag, not an HTTP-date (which always
    has spaces). Swift sends etags unquoted, so clients echo them back
    that way: a bare token counts too."""
    value = value.strip()
    return bool(value) and not value.startswith("W/") and " " not in value


def mask_etags(value, object_keys):
    """Each etag in ``value`` followed by its HMAC under every key, so that
    the backend can compare with the stored Etag-Mac whichever root secret
    wrote the object (and with a plain etag for unencrypted objects)."""
    out = []
    for etag in etags.parse_list(value):
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


class PutFooters:
    """The footers callback of one encrypted PUT (``update``, called once
    the body is read): the encrypted body's etag and crypto-meta, the
    client's etag checked against the plaintext's MD5 (422 if it differs),
    and the container listing's etag encrypted."""

    def __init__(self, environ, body, keys, container_cipher=None, encrypting=None):
        self.body = body
        self.encrypting = encrypting
        self.keys = keys
        # the listing etag's: a ShortCtr of the container key
        self.container_cipher = container_cipher or keys["container"]
        client_etag = environ.get("HTTP_ETAG")
        self.client_etag = etags.bare(client_etag) if client_etag is not None else None
        self.header_override = environ.get(_OVERRIDE_ETAG_KEY)
        self.inner_callback = environ.get(FOOTERS_CALLBACK)
        self.refusals = []  # the 422 update raised, to answer it if it comes back to us

    def raised(self, err):
        """True if ``err`` is the 422 ``update`` raised."""
        return any(err is refusal for refusal in self.refusals)

    def update(self, footers):
        """Swift's ``swift.callback.update_footers``: add ours to ``footers``."""
        if self.inner_callback is not None:
            self.inner_callback(footers)
        etag_footer = None
        listed = _MISSING
        for name, value in reversed(footers.items()):  # the first spelling wins
            lname = name.lower()
            if lname == "etag":
                etag_footer = value
            elif lname == listing_etag.HEADER_L:
                listed = value
        if listed is _MISSING:
            listed = self.header_override
        body = self.body
        plaintext_etag = body.plaintext_etag
        if body.started:
            expected = etag_footer or self.client_etag
            if (expected is not None and etags.bare(expected) != plaintext_etag) or \
                    (self.encrypting is not None and not self.encrypting.hashed_all()):
                self.refusals.append(error_exception(422, ETAG_MISMATCH))
                raise self.refusals[-1]
            updates = body.body_footers()
        elif self.client_etag is not None and etag_footer is None:
            updates = {"Etag": self.client_etag}
        else:
            updates = {}
        if listed is None:
            listed = plaintext_etag
        encrypted = listing_etag.encrypt(
            listed, body.started, self.container_cipher, self.keys["id"])
        if encrypted is not None:
            updates[listing_etag.HEADER] = encrypted
        _update_footers(footers, updates)


def _content_length(environ):
    """The request body's declared length, or None (chunked, or not a number)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _replace_etag(value, cipher_etag, plain_etag):
    if etags.bare(value) != cipher_etag:
        return value
    return '"%s"' % plain_etag if value.strip().startswith('"') else plain_etag
