"""Crypto-meta: the parameters stored beside every encrypted item.

A crypto-meta dict (``{"cipher": ..., "iv": <bytes>, ...}``) is stored as
JSON with sorted keys, every ``iv`` or ``key`` value base64-encoded at any
depth, the JSON then ``quote_plus``-quoted. An encrypted header value is
``<base64 ciphertext>; swift_meta=<serialized crypto-meta>``.

``dump`` and ``load`` take the templates of
``swiftcrypt.crypto.fast.cryptometa_templates`` (a fenced fast path) for
the shapes written on every request; ``dump_json`` and ``load_json`` are
the general route, and the reference those templates are tested against.
"""

import base64
import binascii
import json
import re
import sys
from urllib.parse import quote_plus, unquote_plus

from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import ciphers

_BINARY_FIELDS = ("iv", "key")
META_PARAM = _META_PARAM = "swift_meta"
_ONLY_PARAM = " %s=" % _META_PARAM


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
    """The bytes of a stored ``iv`` or ``key`` value (strict base64)."""
    if not isinstance(value, str):
        raise CryptoError("iv or key is not a base64 string")
    try:
        return _strict_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CryptoError("iv or key is not valid base64") from None


if sys.version_info >= (3, 11):
    def _strict_b64decode(data):
        # what b64decode(validate=True) calls, without its Python wrapper
        return binascii.a2b_base64(data, strict_mode=True)
else:  # pragma: no cover - no strict_mode before 3.11
    def _strict_b64decode(data):
        return base64.b64decode(data, validate=True)


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
    """unquote_plus, in C for the characters serialized metas hold."""
    if _NEEDS_GENERAL_UNQUOTE.search(text):
        return unquote_plus(text)
    for char, quoted in reversed(_QUOTED):
        text = text.replace(quoted, char)
    return text


def dump_json(meta):
    """The general route of ``dump``, readable and slower: the reference
    that the templates are tested against."""
    encoded = _map_binary(meta, lambda b: base64.b64encode(b).decode("ascii"))
    return _quote_plus(json.dumps(encoded, sort_keys=True))


def load_json(text):
    """The general route of ``load``, readable and slower: the reference
    that the templates are tested against."""
    if not isinstance(text, str):
        raise CryptoError("crypto meta is not a string")
    try:
        meta = json.loads(_unquote_plus(text))
    except (ValueError, TypeError):
        raise CryptoError("crypto meta is not JSON") from None
    if not isinstance(meta, dict):
        raise CryptoError("crypto meta is not a JSON object")
    return _map_binary(meta, _b64decode)


def dump(meta):
    """Serialize a crypto-meta dict to its header form."""
    text = _templates.dump(meta)
    return text if text is not None else dump_json(meta)


def load(text):
    """Parse a serialized crypto-meta; raises CryptoError if malformed."""
    if not isinstance(text, str):
        raise CryptoError("crypto meta is not a string")
    meta = _templates.load(text)
    return meta if meta is not None else load_json(text)


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
    if rest.startswith(_ONLY_PARAM) and ";" not in rest:
        # what we and Swift write: the loop below would find just this
        return head.strip(), load(rest[len(_ONLY_PARAM):].strip())
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
    iv = meta["iv"]
    if type(iv) is not bytes or len(iv) != ciphers.IV_SIZE:
        ciphers.check_iv(iv)


def new_meta():
    """Return a fresh ``{"cipher", "iv"}`` crypto-meta."""
    return {"cipher": ciphers.CIPHER, "iv": ciphers.random_iv()}


def encrypt_value(plaintext, key, **extra):
    """Encrypt a short value: returns ``"<b64>; swift_meta=<meta>"``.

    ``plaintext`` is bytes; ``extra`` items (e.g. ``key_id``) are stored in
    the crypto-meta beside the cipher and a fresh IV.
    """
    iv = ciphers.random_iv()
    ciphertext = binascii.b2a_base64(
        ciphers.encrypt(key, extra.get("iv", iv), plaintext), newline=False).decode("ascii")
    # the etag, metadata values and listing etag: dumped straight from the
    # template, with no meta dict
    text = _templates.encrypted_value(ciphertext, iv, extra)
    if text is not None:
        return text
    meta = {"cipher": ciphers.CIPHER, "iv": iv}
    meta.update(extra)
    return "%s; %s=%s" % (ciphertext, _META_PARAM, dump(meta))


def b64decode_value(ciphertext_b64):
    """The ciphertext bytes of an encrypted value's (strict) base64 part."""
    try:
        return _strict_b64decode(ciphertext_b64.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CryptoError("encrypted value is not valid base64") from None


def decrypt_value(ciphertext_b64, key, meta):
    """Decrypt the base64 part of an encrypted value with its crypto-meta."""
    check(meta)
    return ciphers.decrypt(key, meta["iv"], b64decode_value(ciphertext_b64))


# for the templates (which need the helpers above)
b64decode_field = _b64decode
unquote_plus_fast = _unquote_plus

# Last: the templates module imports the names above from this one.
from swiftcrypt.crypto.fast import cryptometa_templates as _templates  # noqa: E402
