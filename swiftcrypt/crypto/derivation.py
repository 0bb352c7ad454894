"""Per-container and per-object keys derived from a root secret."""

import base64
import hashlib
import hmac

from swiftcrypt.common.boundedcache import BoundedCache
from swiftcrypt.crypto import keyids

#: A root secret's size: the least a keymaster accepts, and what
#: ``swiftcrypt serve`` and account_keymaster generate (as Swift's keymaster).
ROOT_SECRET_BYTES = 32

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


def request_keys(root_secret, secret_id, version, cpath, opath, secret_ids,
                 container_key=None):
    """The keys a container or object request gets from ``root_secret``
    (the secret ``secret_id``): ``{"container", "object", "id", "all_ids"}``.

    ``cpath`` is ``/account/container`` (None: an account request, ``{}``);
    ``opath`` the object's path or None (then no ``"object"`` key). ``"id"``
    is the key id of the object's path (the container's without one), and
    ``"all_ids"`` that path's id under each of ``secret_ids`` in order.
    ``container_key``: derive_key(root_secret, cpath), when the caller
    kept it from an earlier request.
    """
    keys = {}
    if cpath is None:
        return keys
    # derive_key, inline: a request computes two or three of these
    keys["container"] = container_key if container_key is not None else \
        hmac_sha256(root_secret, cpath.encode("utf-8"))
    if opath is not None:
        keys["object"] = hmac_sha256(root_secret, opath.encode("utf-8"))
    id_path = opath if opath is not None else cpath
    key_id = keys["id"] = keyids.make_key_id(id_path, secret_id, version)
    keys["all_ids"] = [dict(key_id) if sid == secret_id
                       else keyids.make_key_id(id_path, sid, version)
                       for sid in secret_ids]
    return keys


#: Requests' keys a DerivedKeys keeps: the containers and objects in use.
CACHE_ENTRIES = 1024


class DerivedKeys(BoundedCache):
    """request_keys() results reused across requests: the keys of one
    container (and of a hot object) are derived once, not per request.

    Its owner holds a fixed set of root secrets (``RootSecrets``: a
    rotation or retirement builds new ones, with a new cache), so an
    entry is keyed by secret id and paths alone and can outlive no
    secret. Bounded (``common.boundedcache``); entries are never shown.
    """

    def __init__(self, max_entries=None):
        super().__init__(CACHE_ENTRIES if max_entries is None else max_entries)

    def copy_of(self, cache_key, derive):
        """A copy of the keys cached under ``cache_key`` (``derive(*cache_key)``'s,
        made and kept on a miss): the caller may change what it gets."""
        keys = self._entries.get(cache_key)
        if keys is None:
            keys = self.add(cache_key, derive(*cache_key))
        return copy_keys(keys)


def copy_keys(keys):
    """A copy of request_keys()'s ``keys`` that shares nothing mutable."""
    out = dict(keys)
    if "id" in keys:
        out["id"] = dict(keys["id"])
        out["all_ids"] = [dict(key_id) for key_id in keys["all_ids"]]
    return out


def account_keys(root_secret, path, secret_id, version, secret_ids):
    """The keys an account request gets: ``{"account", "id", "all_ids"}``,
    the account key being HMAC-SHA256(root, ``path`` = "/<account>") and
    ``"all_ids"`` the path's id under each of ``secret_ids`` in order."""
    key_id = keyids.make_key_id(path, secret_id, version)
    return {"account": derive_key(root_secret, path), "id": key_id,
            "all_ids": [dict(key_id) if sid == secret_id
                        else keyids.make_key_id(path, sid, version) for sid in secret_ids]}


def etag_mac(key, etag):
    """Return base64 HMAC-SHA256(key, etag): the stored Etag-Mac form.

    ``key`` is bytes, or a ``fast.hmac.Sha256Hmac`` made from them (its
    ``mac``); ``etag`` is bytes, or text as found in a WSGI header
    (latin-1 code points standing for bytes); other text is taken as UTF-8.
    """
    if isinstance(etag, str):
        try:
            etag = etag.encode("latin-1")
        except UnicodeEncodeError:
            etag = etag.encode("utf-8")
    mac = getattr(key, "mac", None)
    digest = mac(etag) if mac is not None else hmac_sha256(key, etag)
    return base64.b64encode(digest).decode("ascii")
