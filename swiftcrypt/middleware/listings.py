"""Container listings: each entry's etag, stored encrypted under the
container key (``<etag>; swift_meta=<crypto-meta>``), decrypted in JSON
and XML listing bodies. An entry that does not decrypt shows
``<unknown>`` and the listing still succeeds.
"""

import base64
import json
import re
from html import escape, unescape

from swiftcrypt.crypto import ciphers

from swiftcrypt.crypto import cryptometa
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.httperrors import respond
from swiftcrypt.middleware.keycallback import KeysUnavailable, fetch_keys, key_id_cache_key

UNKNOWN_ETAG = "<unknown>"
_XML_HASH = re.compile(r"<hash>([^<]*)</hash>")


def send_decrypted_listing(environ, start_response, resp, logger):
    """Send a successful container GET response ``resp`` with its JSON or
    XML listing's etags decrypted (other bodies as they are); a listing
    that is not valid JSON or XML gets a 500."""
    content_type = resp.header("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        rewrite = rewrite_json
    elif content_type in ("application/xml", "text/xml"):
        rewrite = rewrite_xml
    else:
        return resp.send(start_response)
    try:
        body = b"".join(resp.app_iter)
    finally:
        resp.close()
    listing = ListingDecrypter(environ, logger)
    try:
        new_body = rewrite(body, listing)
    except ValueError:
        logger.error("container listing for %s is not valid %s",
                     environ.get("PATH_INFO"), content_type)
        return respond(start_response, 500, "Error decrypting container listing")
    resp.app_iter = [new_body]
    resp.set_header("Content-Length", str(len(new_body)))
    return resp.send(start_response)


def rewrite_json(body, listing):
    """A JSON listing ``body`` with each entry's ``hash`` decrypted by
    ``listing`` (a ListingDecrypter); ValueError if not a JSON array."""
    entries = json.loads(body)
    if not isinstance(entries, list):
        raise ValueError("a JSON listing must be an array")
    for entry in entries:
        if isinstance(entry, dict) and "hash" in entry:
            entry["hash"] = listing.decrypt(entry["hash"], entry.get("name"))
    return json.dumps(entries).encode("ascii")


def rewrite_xml(body, listing):
    """An XML listing ``body`` with each ``<hash>`` decrypted by
    ``listing``; ValueError (UnicodeDecodeError) if not UTF-8."""
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
            cache_key = key_id_cache_key(key_id)
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
