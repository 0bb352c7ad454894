"""Per-container and per-object keys derived from a root secret."""

import base64
import hashlib
import hmac

try:
    # The C function behind hmac.new: half the cost of going through the
    # hmac module's Python class, and a request computes three or four.
    from _hashlib import hmac_new as _openssl_hmac_new
except ImportError:  # a Python built without OpenSSL
    _openssl_hmac_new = None

if _openssl_hmac_new is not None:
    def hmac_sha256(key, message):
        """Return HMAC-SHA256(key, message) as 32 bytes."""
        return _openssl_hmac_new(key, message, "sha256").digest()
else:  # pragma: no cover
    def hmac_sha256(key, message):
        """Return HMAC-SHA256(key, message) as 32 bytes."""
        return hmac.new(key, message, hashlib.sha256).digest()


def derive_key(root_secret, path):
    """Return HMAC-SHA256(root_secret, UTF-8 bytes of ``path``).

    ``path`` is ``/account/container`` or ``/account/container/object`` as
    real Unicode text (never a WSGI latin-1 string).
    """
    return hmac_sha256(root_secret, path.encode("utf-8"))


def etag_mac(key, etag):
    """Return base64 HMAC-SHA256(key, etag): the stored Etag-Mac form.

    ``etag`` is bytes, or text as found in a WSGI header (latin-1 code
    points standing for bytes); other text is taken as UTF-8.
    """
    if isinstance(etag, str):
        try:
            etag = etag.encode("latin-1")
        except UnicodeEncodeError:
            etag = etag.encode("utf-8")
    return base64.b64encode(hmac_sha256(key, etag)).decode("ascii")
