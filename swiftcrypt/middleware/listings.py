"""Container listings: each entry's etag, stored encrypted under the
container key (``<etag>; swift_meta=<crypto-meta>``), decrypted in JSON
and XML listing bodies. An entry that does not decrypt shows
``<unknown>`` and the listing still succeeds.
"""

import json
import re
from html import escape, unescape

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.httperrors import respond
from swiftcrypt.crypto import listing_etag
from swiftcrypt.crypto.fast import listing_etag as fast_listing_etag
from swiftcrypt.crypto.fast.ctr import ShortCtr
from swiftcrypt.middleware.keycallback import KeysUnavailable, fetch_keys

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
    """Decrypts the listing etags of one listing, with the crypto-meta
    parser (``listing_etag``). Each container key is fetched once per
    listing and kept as a ShortCtr (one cipher set-up however many
    entries); a failure is logged once per listing, not per entry."""

    def __init__(self, environ, logger):
        self.environ = environ
        self.logger = logger
        self._ciphers = {}  # listing_etag.container_key_cache_key -> ShortCtr
        # fast_listing_etag's container key text -> the ShortCtr the
        # reference route used for a value naming that text
        self._by_text = {}
        self._used = None
        self._reported = set()

    def _container_cipher(self, key_id):
        cache_key = listing_etag.container_key_cache_key(key_id)
        cipher = self._ciphers.get(cache_key)
        if cipher is None:
            key = fetch_keys(self.environ, ("container",), key_id)["container"]
            cipher = self._ciphers[cache_key] = ShortCtr(key)
        self._used = cipher
        return cipher

    def decrypt(self, value, name):
        """The plaintext etag for a listing ``hash`` value, or <unknown>."""
        if not listing_etag.is_encrypted(value):
            return value
        fast = fast_listing_etag.split(value)
        if fast is not None:
            ciphertext, iv, text = fast
            cipher = self._by_text.get(text)
            if cipher is not None:
                try:
                    return cipher.crypt(iv, ciphertext).decode("utf-8")
                except UnicodeDecodeError:
                    pass  # the reference route reports it
        try:
            self._used = None
            plain = listing_etag.decrypt(value, self._container_cipher)
            if fast is not None and self._used is not None:
                self._by_text[fast[2]] = self._used
            return plain
        except (CryptoError, KeysUnavailable, UnicodeDecodeError, AttributeError) as err:
            reason = "%s: %s" % (err.__class__.__name__, err)
            if reason not in self._reported:  # once per listing, not per entry
                self._reported.add(reason)
                self.logger.error("error decrypting listing etag in %s (object %r): %s",
                                  self.environ.get("PATH_INFO"), name, reason)
            return UNKNOWN_ETAG
