"""The container-listing etag: where and how it is stored (one home).

An object PUT sends the etag its container listing should show in the
``X-Object-Sysmeta-Container-Update-Override-Etag`` footer; the container
server stores that value as the listing entry's ``hash``. Encrypted, it is
``<base64 ciphertext>; swift_meta=<crypto-meta {"cipher", "iv",
"key_id"}>`` under the container key; an empty body's MD5 stays plain.
The header and the listing entry hold the same text, read here with the
general crypto-meta parser (``cryptometa``).
"""

from swiftcrypt.common import names
from swiftcrypt.common.checksums import md5_hex
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import ciphers, cryptometa, keyids

HEADER = names.OVERRIDE_ETAG
HEADER_L = HEADER.lower()
EMPTY_MD5 = md5_hex(b"")
_MARK = "swift_meta="


def encrypt(listing_etag, body_was_encrypted, container_key, key_id):
    """The stored (encrypted) listing etag, or None when none is needed.

    An empty body's MD5 stays plain unless there was a body: it tells
    nothing, and Swift leaves it so.
    """
    if not listing_etag:
        return None
    if listing_etag == EMPTY_MD5 and not body_was_encrypted:
        return None
    return cryptometa.encrypt_value(
        listing_etag.encode("latin-1"), container_key, key_id=key_id)


def is_encrypted(value):
    """Whether a stored listing etag (header value or listing ``hash``)
    is an encrypted one (else plain, or not a string)."""
    return isinstance(value, str) and _MARK in value


def stored_meta(value):
    """The crypto-meta of a stored listing etag, or None when it has
    none; CryptoError when it is malformed."""
    return cryptometa.extract(value)[1]


def decrypt(value, container_key_for):
    """The plaintext of an encrypted stored listing etag.

    ``container_key_for(key_id)`` gives the container key (bytes or a
    ShortCtr) for the key id the value names (None if it names none); it
    is called only once the crypto-meta checks out. Raises CryptoError or
    UnicodeDecodeError for a value that does not decrypt to text.
    """
    ciphertext, meta = cryptometa.extract(value)
    if meta is None:
        raise CryptoError("value has no swift_meta")
    cryptometa.check(meta)
    key = container_key_for(meta.get("key_id"))
    return ciphers.decrypt(key, meta["iv"], cryptometa.b64decode_value(ciphertext)).decode(
        "utf-8")


_KEY_ID_ITEMS = frozenset(("path", "secret_id", "v"))


def container_key_cache_key(key_id):
    """A dict key under which ``key_id``'s container key may be cached,
    shared by every key id that gives the same container key.

    Listing etags name their object's path (v2, v3: ``/<a>/<c>/<o>``),
    and the container key comes from the secret, the version and the
    first two segments alone: one key per container, not per entry. Any
    other key id (v1, other shapes) keeps a key of its own.
    """
    if type(key_id) is dict and key_id.keys() <= _KEY_ID_ITEMS:
        path = key_id.get("path")
        version = key_id.get("v")
        secret_id = key_id.get("secret_id")
        if (version == "2" or version == "3") and type(path) is str and path[:1] == "/" \
                and (secret_id is None or type(secret_id) is str):
            end = path.find("/", path.find("/", 1) + 1)  # the end of /<a>/<c>
            if end < 0 and path.count("/") == 2:
                end = len(path)
            if end > 0:
                return ("container", secret_id, version, path[:end])
    return keyids.cache_key(key_id)
