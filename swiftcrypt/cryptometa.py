"""Crypto-meta: the parameters stored beside every encrypted item.

A crypto-meta dict (``{"cipher": ..., "iv": <bytes>, ...}``) is stored as
JSON with sorted keys, every ``iv`` or ``key`` value base64-encoded at any
depth, the JSON then ``quote_plus``-quoted. An encrypted header value is
``<base64 ciphertext>; swift_meta=<serialized crypto-meta>``.
"""

import base64
import binascii
import json
import re
from urllib.parse import quote_plus, unquote_plus

from swiftcrypt import ciphers
from swiftcrypt.errors import CryptoError

_BINARY_FIELDS = ("iv", "key")
_META_PARAM = "swift_meta"


def _map_binary(meta, convert):
    out = {}
    for name, value in meta.items():
        if isinstance(value, dict):
            value = _map_binary(value, convert)
        elif name in _BINARY_FIELDS:
            value = convert(value)
        out[name] = value
    return out


def _b64decode(value):
    if not isinstance(value, str):
        raise CryptoError("iv or key is not a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CryptoError("iv or key is not valid base64") from None


# Serialized metas are made of a few punctuation characters and base64:
# quoting those with str.replace runs in C, where quote_plus walks every
# byte in Python (the largest per-request cost we had). Anything else
# takes the general route; both give identical text.
_QUOTED = (("+", "%2B"), ("/", "%2F"), ("=", "%3D"), ("{", "%7B"), ("}", "%7D"),
           ('"', "%22"), (":", "%3A"), (",", "%2C"), (" ", "+"))
_NEEDS_GENERAL_QUOTE = re.compile(r'[^A-Za-z0-9_.~{}":, /+=-]')
_NEEDS_GENERAL_UNQUOTE = re.compile(r"%(?!2B|2F|3D|7B|7D|22|3A|2C)")


def _quote_plus(text):
    if _NEEDS_GENERAL_QUOTE.search(text):
        return quote_plus(text)
    for char, quoted in _QUOTED:
        text = text.replace(char, quoted)
    return text


def _unquote_plus(text):
    if _NEEDS_GENERAL_UNQUOTE.search(text):
        return unquote_plus(text)
    for char, quoted in reversed(_QUOTED):
        text = text.replace(quoted, char)
    return text


# The commonest meta by far - {"cipher": "AES_CTR_256", "iv": <iv>}, on
# every etag and metadata value - serialized and parsed from a template.
_SIMPLE_PREFIX = quote_plus('{"cipher": "%s", "iv": "' % ciphers.CIPHER)
_SIMPLE_SUFFIX = quote_plus('"}')
_QUOTED_B64 = re.compile(r"(?:[A-Za-z0-9]|%2B|%2F|%3D)*\Z")


def _dump_simple(meta):
    if len(meta) != 2 or meta.get("cipher") != ciphers.CIPHER:
        return None
    iv = meta.get("iv")
    if not isinstance(iv, bytes):
        return None
    b64 = base64.b64encode(iv).decode("ascii")
    return _SIMPLE_PREFIX + b64.replace("+", "%2B").replace("/", "%2F").replace(
        "=", "%3D") + _SIMPLE_SUFFIX


def _load_simple(text):
    if not (text.startswith(_SIMPLE_PREFIX) and text.endswith(_SIMPLE_SUFFIX)):
        return None
    quoted = text[len(_SIMPLE_PREFIX):len(text) - len(_SIMPLE_SUFFIX)]
    if not _QUOTED_B64.match(quoted):
        return None
    iv = _b64decode(quoted.replace("%2B", "+").replace("%2F", "/").replace("%3D", "="))
    return {"cipher": ciphers.CIPHER, "iv": iv}


def dump(meta):
    """Serialize a crypto-meta dict to its header form."""
    simple = _dump_simple(meta)
    if simple is not None:
        return simple
    encoded = _map_binary(meta, lambda b: base64.b64encode(b).decode("ascii"))
    return _quote_plus(json.dumps(encoded, sort_keys=True))


def load(text):
    """Parse a serialized crypto-meta; raises CryptoError if malformed."""
    if not isinstance(text, str):
        raise CryptoError("crypto meta is not a string")
    simple = _load_simple(text)
    if simple is not None:
        return simple
    try:
        meta = json.loads(_unquote_plus(text))
    except (ValueError, TypeError):
        raise CryptoError("crypto meta is not JSON") from None
    if not isinstance(meta, dict):
        raise CryptoError("crypto meta is not a JSON object")
    return _map_binary(meta, _b64decode)


def append(value, meta):
    """Return ``value`` with ``; swift_meta=<meta>`` appended."""
    return "%s; %s=%s" % (value, _META_PARAM, dump(meta))


def extract(value):
    """Split a header value into ``(value, crypto-meta or None)``.

    Other ``;``-separated parameters are dropped, as Swift drops them.
    """
    head, sep, rest = value.partition(";")
    if not sep:
        return value, None
    meta = None
    for param in rest.split(";"):
        name, eq, param_value = param.strip().partition("=")
        if eq and name.strip().lower() == _META_PARAM:
            meta = load(param_value.strip())
    return head.strip(), meta


def check(meta):
    """Raise CryptoError unless ``meta`` names our cipher and a 16-byte IV."""
    if not isinstance(meta, dict):
        raise CryptoError("crypto meta is not a dict")
    if meta.get("cipher") != ciphers.CIPHER:
        raise CryptoError("cipher must be %s" % ciphers.CIPHER)
    if "iv" not in meta:
        raise CryptoError("crypto meta has no iv")
    ciphers.check_iv(meta["iv"])


def new_meta():
    """Return a fresh ``{"cipher", "iv"}`` crypto-meta."""
    return {"cipher": ciphers.CIPHER, "iv": ciphers.random_iv()}


def encrypt_value(plaintext, key, **extra):
    """Encrypt a short value: returns ``"<b64>; swift_meta=<meta>"``.

    ``plaintext`` is bytes; ``extra`` items (e.g. ``key_id``) are stored in
    the crypto-meta beside the cipher and a fresh IV.
    """
    meta = new_meta()
    meta.update(extra)
    ciphertext = ciphers.encrypt(key, meta["iv"], plaintext)
    return append(base64.b64encode(ciphertext).decode("ascii"), meta)


def decrypt_value(ciphertext_b64, key, meta):
    """Decrypt the base64 part of an encrypted value with its crypto-meta."""
    check(meta)
    try:
        ciphertext = base64.b64decode(ciphertext_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CryptoError("encrypted value is not valid base64") from None
    return ciphers.decrypt(key, meta["iv"], ciphertext)


def decrypt_header(value, key):
    """Decrypt a whole ``<b64>; swift_meta=`` value; returns ``(bytes, meta)``.

    Raises CryptoError if the value carries no crypto-meta.
    """
    ciphertext_b64, meta = extract(value)
    if meta is None:
        raise CryptoError("value has no swift_meta")
    return decrypt_value(ciphertext_b64, key, meta), meta
