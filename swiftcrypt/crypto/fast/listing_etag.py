"""A stored listing etag split by one regex (a fast path: see
``swiftcrypt.crypto.fast``). Reference: ``swiftcrypt.crypto.listing_etag``
(``decrypt``, through the crypto-meta parser), which also fetches the
container key for the key id the value names.

A listing holds one such value per entry, all under a few container keys.
``split`` takes the exact form we and Swift write,
``<base64>; swift_meta=<{"cipher", "iv", "key_id": {"path": "/<a>/<c>/<o>",
["secret_id",] "v": "2"|"3"}}>``, and gives the ciphertext, the IV and a
text naming the container key (the quoted key id with the object name cut
out: for v2 and v3 the container key depends on the secret, the version
and ``/<a>/<c>`` alone). The key itself comes from the reference route:
the caller keeps the cipher it used for an entry under that text, and
takes the fast route for the next entries naming the same text. Anything
else gives None (the reference route).
"""

import base64
import binascii
import re

from swiftcrypt.crypto import ciphers

_LISTING = re.compile(
    r"([A-Za-z0-9+/]*={0,2}); swift_meta="
    r"%7B%22cipher%22%3A\+%22" + re.escape(ciphers.CIPHER) + r"%22%2C\+%22iv%22%3A\+%22"
    r"((?:[A-Za-z0-9]|%2B|%2F){22}(?:%3D){2})%22(%2C\+[A-Za-z0-9%+._~-]*)%7D\Z")
# The quoted key id: an object path /<a>/<c>/<o> of a v2 or v3 key id;
# account and container names of unreserved characters only, so that one
# quoted text is one name.
_KEY_ID = re.compile(
    r"(%2C\+%22key_id%22%3A\+%7B%22path%22%3A\+%22%2F[A-Za-z0-9._~-]+%2F[A-Za-z0-9._~-]+)"
    r"%2F(?:[^%]|%(?!22))*"
    r"(%22(?:%2C\+%22secret_id%22%3A\+%22[A-Za-z0-9._~-]*%22)?%2C\+%22v%22%3A\+%22[23]%22%7D)"
    r"\Z")


def split(value):
    """``(ciphertext, iv, container key text)`` of a stored listing etag
    in the exact form above, or None (take the reference route)."""
    match = _LISTING.match(value)
    if match is None:
        return None
    key_id = _KEY_ID.match(match.group(3))
    if key_id is None:
        return None
    iv = match.group(2).replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
    try:
        ciphertext = base64.b64decode(match.group(1), validate=True)
        iv = base64.b64decode(iv, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(iv) != ciphers.IV_SIZE:
        return None
    return ciphertext, iv, key_id.group(1) + "/" + key_id.group(2)

