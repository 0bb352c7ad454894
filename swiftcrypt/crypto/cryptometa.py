"""Crypto-meta: the parameters stored beside every encrypted item.

A crypto-meta dict (``{"cipher": ..., "iv": <bytes>, ...}``) is stored as
JSON with sorted keys, every ``iv`` or ``key`` value base64-encoded at any
depth, the JSON then ``quote_plus``-quoted. An encrypted header value is
``<base64 ciphertext>; swift_meta=<serialized crypto-meta>``.
"""

import base64
import binascii
import json
import operator
import re
import sys
from urllib.parse import quote_plus, unquote_plus

from swiftcrypt.crypto import ciphers
from swiftcrypt.common.errors import CryptoError

_BINARY_FIELDS = ("iv", "key")
_META_PARAM = "swift_meta"
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
    if _NEEDS_GENERAL_UNQUOTE.search(text):
        return unquote_plus(text)
    for char, quoted in reversed(_QUOTED):
        text = text.replace(quoted, char)
    return text


# Templates: the shapes Swift and we write on every request - the etag and
# metadata meta {"cipher", "iv"}, the listing etag's {"cipher", "iv",
# "key_id"}, the metadata set's {"cipher", "key_id"} and the body meta
# {"body_key", "cipher", "iv", "key_id"} - are dumped and parsed from
# templates rather than through json and a whole-text (un)quote: the
# general route costs several microseconds per meta. A dump takes a
# template only when its strings need no JSON escape, so that the text is
# what the general route gives; a load takes one only when the text is in
# the exact form such a dump makes. Anything else takes the general route.
def _q(json_text):
    return quote_plus(json_text)


def _rq(json_text):
    return re.escape(quote_plus(json_text))


# Strings that json.dumps writes as they are: printable ASCII but " and \.
_JSON_PLAIN = re.compile(r"[ !#-\[\]-~]*\Z")
_QUOTE_ASCII = str.maketrans({chr(i): quote_plus(chr(i)) for i in range(128)})
# What a JSON string may hold unescaped.
_JSON_RAW = re.compile(r'[^"\\\x00-\x1f]*\Z')
_B64_QUOTED = re.compile(r"[A-Za-z0-9%]*\Z")
_B64_QUOTED_FIELDS = re.compile(r"[A-Za-z0-9%|]*\Z")

_CIPHER_PREFIX = _q('{"cipher": "%s"' % ciphers.CIPHER)
_IV_ITEM = _q(', "iv": "')
_KEY_ID_ITEM = _q(', "key_id": ')
_STR_END = _q('"')
_DICT_END = _q("}")
_KEY_ID_PATH = _q('{"path": "')
_KEY_ID_SECRET = _q('", "secret_id": "')
_KEY_ID_V = _q('", "v": "')
_KEY_ID_END = _q('"}')
_BODY_PREFIX = _q('{"body_key": {"iv": "')
_BODY_KEY = _q('", "key": "')
_BODY_CIPHER_IV = _q('"}, "cipher": "%s", "iv": "' % ciphers.CIPHER)

def _b64_q(value):
    """quote_plus of the base64 of bytes ``value`` (None if not bytes)."""
    if type(value) is not bytes:
        return None
    return binascii.b2a_base64(value, newline=False).decode("ascii").replace(
        "+", "%2B").replace("/", "%2F").replace("=", "%3D")


def _str_q(value):
    """quote_plus of a JSON-plain string's text (None if not one)."""
    if type(value) is not str or not _JSON_PLAIN.match(value):
        return None
    return value.translate(_QUOTE_ASCII)  # quote_plus, for ASCII


def _dump_key_id(key_id):
    if type(key_id) is not dict or not 2 <= len(key_id) <= 3:
        return None
    path = _str_q(key_id.get("path"))
    version = _str_q(key_id.get("v"))
    if path is None or version is None:
        return None
    if len(key_id) == 2:
        return _KEY_ID_PATH + path + _KEY_ID_V + version + _KEY_ID_END
    secret_id = _str_q(key_id.get("secret_id"))
    if secret_id is None:
        return None
    return _KEY_ID_PATH + path + _KEY_ID_SECRET + secret_id + _KEY_ID_V + version + _KEY_ID_END


def _dump_template(meta):
    """The template dump of ``meta``, or None when it has no template."""
    if type(meta) is not dict or meta.get("cipher") != ciphers.CIPHER \
            or type(meta["cipher"]) is not str:
        return None
    n = len(meta)
    iv = meta.get("iv")
    key_id = meta.get("key_id")
    if "body_key" in meta:
        wrapped = meta["body_key"]
        if n != 4 or type(wrapped) is not dict or len(wrapped) != 2:
            return None
        parts = (_b64_q(wrapped.get("iv")), _b64_q(wrapped.get("key")), _b64_q(iv),
                 _dump_key_id(key_id))
        if None in parts:
            return None
        return (_BODY_PREFIX + parts[0] + _BODY_KEY + parts[1] + _BODY_CIPHER_IV + parts[2]
                + _STR_END + _KEY_ID_ITEM + parts[3] + _DICT_END)
    text = _CIPHER_PREFIX
    used = 1
    if iv is not None:
        iv_q = _b64_q(iv)
        if iv_q is None:
            return None
        text += _IV_ITEM + iv_q + _STR_END
        used += 1
    if key_id is not None:
        key_id_q = _dump_key_id(key_id)
        if key_id_q is None:
            return None
        text += _KEY_ID_ITEM + key_id_q
        used += 1
    if used != n:  # other items, or "iv"/"key_id" present as null
        return None
    return text + _DICT_END


def _str_field(quoted):
    """A quoted template string field's text, or None for the general
    route (it would hold a quote, backslash or control once unquoted)."""
    value = quoted.replace("%2F", "/")  # most key ids: a path, else plain
    if "%" in value or "+" in value:
        value = _unquote_plus(quoted)
    return value if _JSON_RAW.match(value) else None


def _b64_field(quoted):
    """A quoted template base64 field's text, or None for the general route."""
    if not _B64_QUOTED.match(quoted):
        return None
    b64 = quoted.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
    return None if "%" in b64 else b64


# A template's quoted text split at %22 (a JSON quote): its fields are
# every other piece, as no field's quoted form holds %22; the rest must
# be the template's own pieces.
_FIELD = "QQfield%dQQ"


def _getter(indexes):
    """itemgetter that always returns a tuple."""
    if not indexes:
        return lambda pieces: ()
    if len(indexes) == 1:
        index = indexes[0]
        return lambda pieces: (pieces[index],)
    return operator.itemgetter(*indexes)


def _template(json_text, kinds):
    """``(literal getter, literal pieces, base64 getter, string getter,
    kinds)`` of a JSON template whose fields are marked ``@``, and its
    piece count."""
    names = []
    for i in range(len(kinds)):
        json_text = json_text.replace("@", _FIELD % i, 1)
        names.append(_FIELD % i)
    pieces = quote_plus(json_text).split("%22")
    field_at = [pieces.index(name) for name in names]
    literal_at = [i for i in range(len(pieces)) if i not in field_at]
    b64_at = [at for at, kind in zip(field_at, kinds) if kind == "b"]
    str_at = [at for at, kind in zip(field_at, kinds) if kind == "s"]
    return len(pieces), (operator.itemgetter(*literal_at), tuple(pieces[i] for i in literal_at),
                         _getter(b64_at), _getter(str_at), kinds)


_KEY_ID_2 = '{"path": "@", "v": "@"}'
_KEY_ID_3 = '{"path": "@", "secret_id": "@", "v": "@"}'
_CIPHER_JSON = '{"cipher": "%s"' % ciphers.CIPHER
_BODY_JSON = '{"body_key": {"iv": "@", "key": "@"}, "cipher": "%s", "iv": "@"' % ciphers.CIPHER
# kinds: "b" base64, "s" string; shapes told apart by piece count and pieces
_TEMPLATES = {}
for _json, _kinds in (  # (the one-field {"cipher", "iv"} is parsed on its own)
        (_CIPHER_JSON + ', "iv": "@", "key_id": %s}' % _KEY_ID_2, "bss"),
        (_CIPHER_JSON + ', "iv": "@", "key_id": %s}' % _KEY_ID_3, "bsss"),
        (_CIPHER_JSON + ', "key_id": %s}' % _KEY_ID_2, "ss"),
        (_CIPHER_JSON + ', "key_id": %s}' % _KEY_ID_3, "sss"),
        (_BODY_JSON + ', "key_id": %s}' % _KEY_ID_2, "bbbss"),
        (_BODY_JSON + ', "key_id": %s}' % _KEY_ID_3, "bbbsss")):
    _count, _shape = _template(_json, _kinds)
    _TEMPLATES.setdefault(_count, []).append(_shape)
del _json, _kinds, _count, _shape


_SIMPLE_PREFIX = _q('{"cipher": "%s", "iv": "' % ciphers.CIPHER)
_SIMPLE_SUFFIX = _q('"}')
_SIMPLE_VALUE = "; %s=%s" % (_META_PARAM, _SIMPLE_PREFIX)


# The listing etag's {"cipher", "iv", "key_id": {"path", ["secret_id",] "v"}}:
# one per entry of a listing, so matched in one regex call. A field's quoted
# text holds no %22 (see _FIELD below); _b64_field and _str_field check the rest.
_NO_QUOTE = "((?:[^%]|%(?!22))*)"
_IV_KEY_ID = re.compile(
    _rq('{"cipher": "%s", "iv": "' % ciphers.CIPHER) + "([A-Za-z0-9%]*)"
    + _rq('", "key_id": {"path": "') + _NO_QUOTE
    + "(?:" + _rq('", "secret_id": "') + _NO_QUOTE + ")?"
    + _rq('", "v": "') + _NO_QUOTE + _rq('"}}') + r"\Z")


def _load_iv_key_id(match):
    iv = _b64_field(match.group(1))
    path = _str_field(match.group(2))
    secret_id = match.group(3)
    if secret_id is not None:
        secret_id = _str_field(secret_id)
        if secret_id is None:
            return None
    version = _str_field(match.group(4))
    if iv is None or path is None or version is None:
        return None
    key_id = {"path": path}
    if secret_id is not None:
        key_id["secret_id"] = secret_id
    key_id["v"] = version
    return {"cipher": ciphers.CIPHER, "iv": _b64decode(iv), "key_id": key_id}


def _load_template(text):
    """The template parse of ``text``, or None when it is not in a
    template's exact form."""
    # Every field is checked before any base64 is decoded, so that a bad
    # one raises what the general route would raise for the same text.
    if text.startswith(_SIMPLE_PREFIX):
        if text.endswith(_SIMPLE_SUFFIX):
            # the etag's and each metadata value's: no other template ends so
            iv = _b64_field(text[len(_SIMPLE_PREFIX):len(text) - len(_SIMPLE_SUFFIX)])
            return None if iv is None else {"cipher": ciphers.CIPHER, "iv": _b64decode(iv)}
        match = _IV_KEY_ID.match(text)
        if match is not None:
            return _load_iv_key_id(match)
    pieces = text.split("%22")
    for literals, expected, b64_fields, str_fields, kinds in _TEMPLATES.get(len(pieces), ()):
        if literals(pieces) == expected:
            return _build(kinds, b64_fields(pieces), str_fields(pieces))
    return None


def _build(kinds, b64_quoted, str_quoted):
    # the base64 fields are checked and unquoted together
    joined = "|".join(b64_quoted)
    if not _B64_QUOTED_FIELDS.match(joined):
        return None
    joined = joined.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
    if "%" in joined:
        return None
    strings = [_str_field(field) for field in str_quoted]
    if None in strings:
        return None
    b64s = joined.split("|")
    if len(b64s) != len(b64_quoted) and b64_quoted:
        return None  # a field held the separator
    meta = {}
    if kinds.startswith("bbb"):
        meta["body_key"] = {"iv": _b64decode(b64s[0]), "key": _b64decode(b64s[1])}
    meta["cipher"] = ciphers.CIPHER
    if kinds[0] == "b":
        meta["iv"] = _b64decode(b64s[-1])
    key_id = meta["key_id"] = {"path": strings[0]}
    if len(strings) == 3:
        key_id["secret_id"] = strings[1]
    key_id["v"] = strings[-1]
    return meta


def dump(meta):
    """Serialize a crypto-meta dict to its header form."""
    text = _dump_template(meta)
    if text is not None:
        return text
    encoded = _map_binary(meta, lambda b: base64.b64encode(b).decode("ascii"))
    return _quote_plus(json.dumps(encoded, sort_keys=True))


def load(text):
    """Parse a serialized crypto-meta; raises CryptoError if malformed."""
    if not isinstance(text, str):
        raise CryptoError("crypto meta is not a string")
    meta = _load_template(text)
    if meta is not None:
        return meta
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
    if not extra:
        return ciphertext + _SIMPLE_VALUE + _b64_q(iv) + _SIMPLE_SUFFIX
    if len(extra) == 1 and "key_id" in extra:
        key_id = _dump_key_id(extra["key_id"])
        if key_id is not None:
            return (ciphertext + _SIMPLE_VALUE + _b64_q(iv) + _STR_END + _KEY_ID_ITEM
                    + key_id + _DICT_END)
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
