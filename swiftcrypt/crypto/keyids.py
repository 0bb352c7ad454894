"""Key ids: the record, stored with every encrypted item, of how its keys
were derived (root secret id, key-id version, path).

Versions: "1" (legacy: an object name starting with "/" was taken as the
whole object path), "2" (path stored as a WSGI string), "3" (path stored as
real text). Keys are always derived from the UTF-8 bytes of the real path.
"""

import json
import logging

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.common.swiftpath import str_to_wsgi, wsgi_to_str

VERSIONS = ("1", "2", "3")
DEFAULT_VERSION = "2"

log = logging.getLogger("swiftcrypt.keyids")


def make_key_id(path, secret_id, version):
    """Return the key id dict for real-text ``path`` under ``secret_id``."""
    stored = str_to_wsgi(path) if version in ("1", "2") else path
    key_id = {"v": version, "path": stored}
    if secret_id is not None:
        key_id["secret_id"] = secret_id
    return key_id


def object_path(account, container, obj, version):
    """The object key path; version 1 keeps its leading-slash quirk."""
    if version == "1" and obj.startswith("/"):
        return obj
    return "/%s/%s/%s" % (account, container, obj)


def container_path(account, container):
    """The container key path."""
    return "/%s/%s" % (account, container)


def account_path(account):
    """The account key path (account metadata)."""
    return "/%s" % account


def request_paths(account, container, obj, version):
    """``(container path, object path)`` of a request, None where it names
    no container or no object."""
    if container is None:
        return None, None
    opath = None if obj is None else object_path(account, container, obj, version)
    return container_path(account, container), opath


def _interpretations(parts, version):
    """Real-text readings of stored path parts, most likely first."""
    if version == "3":
        return [parts]
    readings = []
    try:
        readings.append(tuple(None if p is None else wsgi_to_str(p) for p in parts))
    except (UnicodeDecodeError, UnicodeEncodeError):
        pass
    if tuple(parts) not in readings:
        # Written by a proxy that stored real text under v1/v2.
        readings.append(tuple(parts))
    return readings


def _matches(reading, request):
    return all(req is None or req == got for got, req in zip(reading, request))


def parse_key_id(key_id):
    """Validate a stored key id; returns ``(secret_id, version, path)``."""
    if not isinstance(key_id, dict):
        raise CryptoError("key_id is not an object")
    version = key_id.get("v")
    if version not in VERSIONS:
        raise CryptoError("unknown key_id version: %r" % (version,))
    path = key_id.get("path")
    if not isinstance(path, str) or not path:
        raise CryptoError("key_id has no path")
    secret_id = key_id.get("secret_id")
    if secret_id is not None and not isinstance(secret_id, str):
        raise CryptoError("key_id secret_id is not a string")
    return secret_id, version, path


def resolve_account_path(key_id, account):
    """Return ``(secret_id, version, account_path)`` for a key id stored
    with an account's metadata; ``account`` is the request's (real text).

    Only a one-segment path ``/<account>`` naming this very account is
    accepted (see check_db_key_id): a container or object key id on an
    account item is refused, as an account path is by resolve_key_paths.
    """
    secret_id, version, stored = parse_key_id(key_id)
    _check_db_path(stored, version, (account,))
    return secret_id, version, account_path(account)


def check_db_key_id(key_id, account, container=None):
    """Raise CryptoError unless ``key_id``, stored with an account's
    (``container`` None) or a container's own metadata, names that very
    account or container (``account``, ``container``: the request's real
    text). Neither is ever renamed, so another path is a value moved at
    rest: deriving its key would show it to where it was moved."""
    _secret_id, version, stored = parse_key_id(key_id)
    _check_db_path(stored, version, (account,) if container is None else (account, container))


def _check_db_path(stored, version, want):
    """The check of check_db_key_id on a parsed key id: ``want`` is the
    request's ``(account,)`` or ``(account, container)``."""
    parts = tuple(stored[1:].split("/")) if stored.startswith("/") else ()
    if len(parts) != len(want) or want not in _interpretations(parts, version):
        raise CryptoError("key_id path is not that of this %s"
                          % ("account" if len(want) == 1 else "container"))


def resolve_key_paths(key_id, account, container, obj):
    """Return ``(secret_id, version, container_path, object_path)``.

    ``account``/``container``/``obj`` are the request's real-text parts (a
    container request has obj None); the paths returned are those the keys
    were derived from when the item was written, or None where the request
    needs no such key.
    """
    secret_id, version, stored = parse_key_id(key_id)
    legacy = version == "1" and (
        not any(stored.startswith("/%s/" % form) for form in (account, str_to_wsgi(account)))
        # an object named "/<account>/..." was stored under its bare name too
        or (obj is not None and obj.startswith("/") and stored in (obj, str_to_wsgi(obj)))
    )
    if legacy:
        # v1 quirk: the stored path is the object name alone.
        readings = [(account, container, r[0]) for r in _interpretations((stored,), version)]
    else:
        split = stored[1:].split("/", 2) if stored.startswith("/") else []
        if len(split) < 2:
            raise CryptoError("key_id path is not a Swift path")
        readings = _interpretations(tuple(split) + (None,) * (3 - len(split)), version)
    request = (account, container, obj)
    chosen = next((r for r in readings if _matches(r, request)), readings[0])
    if not _matches(chosen, request):
        # A pipeline with copy on the wrong side of encryption can do this;
        # the stored path is what the keys were made from, so trust it.
        log.info("key_id path does not match the request path; using key_id path")
    acct, cont, name = chosen
    cont = cont if cont is not None else container
    name = name if name is not None else obj
    cpath = container_path(acct, cont) if container is not None else None
    opath = None
    if obj is not None and cpath is not None:
        opath = name if legacy and name.startswith("/") else "%s/%s" % (cpath, name)
    return secret_id, version, cpath, opath


def cache_key(key_id):
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


def describe(key_id):
    """A stored key id for a log line: its secret id and version, never
    anything secret."""
    if not isinstance(key_id, dict):
        return "-"
    return "secret_id=%s v=%s" % (key_id.get("secret_id", "(default)"), key_id.get("v"))
