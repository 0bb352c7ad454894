"""Getting keys from the keymaster's callback in the environ."""

from swiftcrypt.common import names
from swiftcrypt.common.errors import CryptoError, UnknownSecretIdError
from swiftcrypt.common.httperrors import respond
from swiftcrypt.crypto import ciphers, keyids

CALLBACK = names.KEYS_CALLBACK


class KeysUnavailable(Exception):
    """The keymaster gave no usable keys (a pipeline or keymaster fault)."""


class KeysMissing(KeysUnavailable):
    """No keys callback, or it gave no valid key of a kind asked for (a
    pipeline fault, as opposed to a keymaster that failed)."""


def keys_unavailable(logger, environ, start_response, err):
    """Log a KeysUnavailable and answer 500 (Swift's words)."""
    logger.error("encryption keys unavailable for %s: %s", environ.get("PATH_INFO"), err)
    return respond(start_response, 500, "Unable to retrieve encryption keys.")


def fetch_keys(environ, required=(), key_id=None):
    """Call the keys callback; check that each ``required`` key is a key.

    Unknown secret ids and bad stored key ids propagate as CryptoError;
    anything else wrong becomes KeysUnavailable.
    """
    fetch = environ.get(CALLBACK)
    if fetch is None:
        raise KeysMissing("no keymaster in the pipeline before encryption")
    try:
        keys = fetch(key_id=key_id)
    except CryptoError:  # UnknownSecretIdError included
        raise
    except Exception as err:
        if err.__class__.__name__ == "UnknownSecretIdError":  # another keymaster's
            raise UnknownSecretIdError(*err.args) from err
        raise KeysUnavailable("keymaster failed: %s" % err.__class__.__name__) from err
    for name in required:
        try:
            ciphers.check_key(keys[name])
        except (KeyError, TypeError, CryptoError):
            raise KeysMissing("keymaster gave no valid %s key" % name) from None
    return keys


def all_object_keys(environ, parts=None):
    """Object keys for every root secret the keymaster holds, active first.

    ``parts`` (the request's real-text path parts) lets us add the keys of
    an object whose name starts with "/" as key-id version 1 derived them
    (from the name alone) or as later versions do, whichever the proxy
    writes now: the object may have been written under either.
    """
    active = fetch_keys(environ, ("object",))
    key_ids = list(active.get("all_ids", []))
    if parts is not None and parts[3] is not None and parts[3].startswith("/"):
        key_ids += [_other_version(key_id, parts) for key_id in key_ids]
    result = [active["object"]]
    for key_id in key_ids:
        if key_id != active.get("id"):
            key = fetch_keys(environ, ("object",), key_id)["object"]
            if key not in result:
                result.append(key)
    return result


def _other_version(key_id, parts):
    _version, account, container, obj = parts
    other = dict(key_id)
    if key_id.get("v") == "1":
        other.update(v="3", path=keyids.object_path(account, container, obj, "3"))
    else:
        other.update(v="1", path=keyids.make_key_id(obj, None, "1")["path"])
    return other

