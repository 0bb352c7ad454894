"""Per-container and per-object keys derived from a root secret."""

import base64
import hashlib
import hmac


def derive_key(root_secret, path):
    """Return HMAC-SHA256(root_secret, UTF-8 bytes of ``path``).

    ``path`` is ``/account/container`` or ``/account/container/object`` as
    real Unicode text (never a WSGI latin-1 string).
    """
    return hmac.new(root_secret, path.encode("utf-8"), hashlib.sha256).digest()


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
    digest = hmac.new(key, etag, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
