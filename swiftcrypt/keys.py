"""Getting keys from the keymaster's callback in the environ."""

from swiftcrypt import ciphers
from swiftcrypt.errors import CryptoError, UnknownSecretIdError

CALLBACK = "swift.callback.fetch_crypto_keys"


class KeysUnavailable(Exception):
    """The keymaster gave no usable keys (a pipeline or keymaster fault)."""


def fetch_keys(environ, required=(), key_id=None):
    """Call the keys callback; check that each ``required`` key is a key.

    Unknown secret ids and bad stored key ids propagate as CryptoError;
    anything else wrong becomes KeysUnavailable.
    """
    fetch = environ.get(CALLBACK)
    if fetch is None:
        raise KeysUnavailable("no keymaster in the pipeline before encryption")
    try:
        keys = fetch(key_id=key_id)
    except (CryptoError, UnknownSecretIdError):
        raise
    except Exception as err:
        if err.__class__.__name__ == "UnknownSecretIdError":  # another keymaster's
            raise UnknownSecretIdError(*err.args) from err
        raise KeysUnavailable("keymaster failed: %s" % err.__class__.__name__) from err
    for name in required:
        try:
            ciphers.check_key(keys[name])
        except (KeyError, TypeError, CryptoError):
            raise KeysUnavailable("keymaster gave no valid %s key" % name) from None
    return keys


def all_object_keys(environ):
    """Object keys for every root secret the keymaster holds, active first."""
    active = fetch_keys(environ, ("object",))
    result = [active["object"]]
    for key_id in active.get("all_ids", []):
        if key_id != active.get("id"):
            result.append(fetch_keys(environ, ("object",), key_id)["object"])
    return result
