"""Crypto-meta dumped and parsed from templates (a fast path: see
``swiftcrypt.crypto.fast``). Reference: the general JSON route in
``swiftcrypt.crypto.cryptometa`` (``dump_json``, ``load_json``).

The shapes Swift and we write on every request - the etag and metadata
meta {"cipher", "iv"}, the listing etag's {"cipher", "iv", "key_id"}, the
metadata set's {"cipher", "key_id"} and the body meta {"body_key",
"cipher", "iv", "key_id"} - are dumped and parsed from templates rather
than through json and a whole-text (un)quote: the general route costs
several microseconds per meta. ``dump`` takes a template only when its
strings need no JSON escape, so that the text is what the general route
gives; ``load`` takes one only when the text is in the exact form such a
dump makes. Anything else gives None: the caller takes the general route.
tests/unit/test_fast_cryptometa_templates.py checks both against the
general route on random metas of every shape.
"""

import binascii
import operator
import re
from urllib.parse import quote_plus

from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.cryptometa import META_PARAM, b64decode_field, unquote_plus_fast

_b64decode = b64decode_field
_unquote_plus = unquote_plus_fast
_META_PARAM = META_PARAM


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


# Key ids dumped before: a request writes its object's key id two or three
# times (body, listing etag, metadata), and the objects in use repeat.
# Keyed by the dict's size and its three strings, which fix the dump;
# bounded (emptied when full).
_KEY_ID_DUMPS = {}
KEY_ID_DUMPS_MAX = 1024


def _dump_key_id(key_id):
    if type(key_id) is not dict or not 2 <= len(key_id) <= 3:
        return None
    path, secret_id, version = key_id.get("path"), key_id.get("secret_id"), key_id.get("v")
    if type(path) is not str or type(version) is not str or \
            (secret_id is not None and type(secret_id) is not str):
        return None
    memo = (len(key_id), path, secret_id, version)
    text = _KEY_ID_DUMPS.get(memo)
    if text is None:
        text = _dump_key_id_strings(key_id)
        if text is not None:
            if len(_KEY_ID_DUMPS) >= KEY_ID_DUMPS_MAX:
                _KEY_ID_DUMPS.clear()
            _KEY_ID_DUMPS[memo] = text
    return text


def _dump_key_id_strings(key_id):
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


def dump(meta):
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


def load(text):
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


def encrypted_value(ciphertext_b64, iv, extra):
    """``<ciphertext_b64>; swift_meta=<meta>`` of ``{"cipher", "iv"}``
    plus ``extra`` (no items, or only ``key_id``) dumped from its template
    with no meta dict; None when ``extra`` has no template."""
    if not extra:
        return ciphertext_b64 + _SIMPLE_VALUE + _b64_q(iv) + _SIMPLE_SUFFIX
    if len(extra) == 1 and "key_id" in extra:
        key_id = _dump_key_id(extra["key_id"])
        if key_id is not None:
            return (ciphertext_b64 + _SIMPLE_VALUE + _b64_q(iv) + _STR_END + _KEY_ID_ITEM
                    + key_id + _DICT_END)
    return None
