"""Crypto-meta serialization, header values, and compatibility with Swift."""

import base64
import json
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from swift.common.middleware.crypto import crypto_utils as swift_cu
from swift.common.middleware.crypto.encrypter import encrypt_header_val

from swiftcrypt.crypto import ciphers
from swiftcrypt.crypto.fast.ctr import ShortCtr

from swiftcrypt.crypto import cryptometa
from swiftcrypt.crypto.fast import cryptometa_templates as templates
from swiftcrypt.common.errors import CryptoError


def decrypt_header(value, key):
    """A whole ``<b64>; swift_meta=`` value decrypted: ``(bytes, meta)``;
    CryptoError if it carries no crypto-meta (the package decrypts through
    extract and decrypt_value; this composes them for the tests)."""
    ciphertext_b64, meta = cryptometa.extract(value)
    if meta is None:
        raise CryptoError("value has no swift_meta")
    return cryptometa.decrypt_value(ciphertext_b64, key, meta), meta


# --- strategies ---------------------------------------------------------------

_names = st.text(min_size=1, max_size=12).filter(lambda n: n not in ("iv", "key"))
_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)


def _with_binary(children):
    return st.builds(
        lambda plain, iv, key: {
            **plain,
            **({} if iv is None else {"iv": iv}),
            **({} if key is None else {"key": key}),
        },
        st.dictionaries(_names, children, max_size=5),
        st.none() | st.binary(max_size=40),
        st.none() | st.binary(max_size=40),
    )


meta_dicts = st.recursive(
    _with_binary(_scalars),
    lambda inner: _with_binary(_scalars | inner),
    max_leaves=20,
)


def _has_binary(meta):
    return any(
        k in ("iv", "key") or (isinstance(v, dict) and _has_binary(v))
        for k, v in meta.items())


# --- dump / load ----------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(meta=meta_dicts)
def test_dump_load_round_trip(meta):
    text = cryptometa.dump(meta)
    assert isinstance(text, str)
    # header safe: no spaces, semicolons, commas or quotes survive quoting
    for char in " ;,\"\r\n":
        assert char not in text
    assert cryptometa.load(text) == meta


@settings(max_examples=100, deadline=None)
@given(meta=meta_dicts)
def test_dump_is_sorted_json_with_base64(meta):
    from urllib.parse import unquote_plus

    decoded = json.loads(unquote_plus(cryptometa.dump(meta)))

    def check(orig, got):
        assert list(got) == sorted(got)
        assert set(got) == set(orig)
        for name, value in orig.items():
            if name in ("iv", "key"):
                assert got[name] == base64.b64encode(value).decode("ascii")
            elif isinstance(value, dict):
                check(value, got[name])
            else:
                assert got[name] == value

    check(meta, decoded)


def test_exact_serialization_simple():
    meta = {"iv": bytes(16), "cipher": "AES_CTR_256"}
    assert cryptometa.dump(meta) == (
        "%7B%22cipher%22%3A+%22AES_CTR_256%22%2C+"
        "%22iv%22%3A+%22AAAAAAAAAAAAAAAAAAAAAA%3D%3D%22%7D"
    )


def test_exact_serialization_nested():
    meta = {
        "key_id": {"v": "2", "path": "/a/c/o", "secret_id": "s1"},
        "iv": b"\xff" * 16,
        "cipher": "AES_CTR_256",
        "body_key": {"key": bytes(range(32)), "iv": b"\x01" * 16},
    }
    expected_json = (
        '{"body_key": {"iv": "AQEBAQEBAQEBAQEBAQEBAQ==", '
        '"key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, '
        '"cipher": "AES_CTR_256", "iv": "/////////////////////w==", '
        '"key_id": {"path": "/a/c/o", "secret_id": "s1", "v": "2"}}'
    )
    assert cryptometa.dump(meta) == quote_plus(expected_json)
    assert cryptometa.load(quote_plus(expected_json)) == meta


def test_dump_key_order_independent_of_insertion():
    a = {"cipher": "AES_CTR_256", "iv": bytes(16), "key_id": {"v": "3", "path": "/a"}}
    b = {"key_id": {"path": "/a", "v": "3"}, "iv": bytes(16), "cipher": "AES_CTR_256"}
    assert cryptometa.dump(a) == cryptometa.dump(b)


def test_dump_does_not_mutate_input():
    meta = {"iv": bytes(16), "body_key": {"key": bytes(32), "iv": bytes(16)}}
    cryptometa.dump(meta)
    assert meta == {"iv": bytes(16), "body_key": {"key": bytes(32), "iv": bytes(16)}}


def test_load_non_ascii_text_value():
    meta = {"cipher": "AES_CTR_256", "iv": bytes(16),
            "key_id": {"v": "3", "path": "/\u00e9/\u2603/\U0001f600"}}
    assert cryptometa.load(cryptometa.dump(meta)) == meta


@pytest.mark.parametrize("text", [
    "",
    "not json",
    quote_plus('{"cipher": '),
    "%7B",
])
def test_load_non_json(text):
    with pytest.raises(CryptoError):
        cryptometa.load(text)


@pytest.mark.parametrize("doc", ["[1, 2]", '"text"', "5", "null", "true"])
def test_load_non_object(doc):
    with pytest.raises(CryptoError):
        cryptometa.load(quote_plus(doc))


@pytest.mark.parametrize("doc", [
    '{"iv": "!!!!"}',
    '{"iv": "AAAA*AAA"}',
    '{"iv": "AAA"}',
    '{"iv": 5}',
    '{"iv": null}',
    '{"iv": ["AAAA"]}',
    '{"body_key": {"key": "%%%%"}}',
    '{"body_key": {"key": "\\u00e9AAA"}}',
])
def test_load_bad_base64(doc):
    with pytest.raises(CryptoError):
        cryptometa.load(quote_plus(doc))


def test_load_non_string():
    with pytest.raises(CryptoError):
        cryptometa.load(b"%7B%7D")
    with pytest.raises(CryptoError):
        cryptometa.load(None)


# --- append / extract -----------------------------------------------------------

def test_append_and_extract():
    meta = {"cipher": "AES_CTR_256", "iv": bytes(range(16))}
    value = cryptometa.append("abc==", meta)
    assert value == "abc==; swift_meta=" + cryptometa.dump(meta)
    assert cryptometa.extract(value) == ("abc==", meta)


def test_extract_without_meta():
    assert cryptometa.extract("plain value") == ("plain value", None)
    assert cryptometa.extract("value; other=1") == ("value", None)


# "abc" with crypto-meta among other parameters, as a header value may have it
PARAM_META = {"cipher": "AES_CTR_256", "iv": bytes(16)}
WITH_OTHER_PARAMS = [template % cryptometa.dump(PARAM_META) for template in (
    "abc; foo=bar; swift_meta=%s",
    "abc; swift_meta=%s; foo=bar",
    "abc;swift_meta=%s;foo=bar;x",
)]


@pytest.mark.parametrize("value", WITH_OTHER_PARAMS + [
    # here Swift differs: it keeps "abc " with the space and does not see SWIFT_META
    "abc ;  SWIFT_META=%s" % cryptometa.dump(PARAM_META),
])
def test_extract_ignores_extra_params(value):
    assert cryptometa.extract(value) == ("abc", PARAM_META)


def test_extract_bad_meta_raises():
    with pytest.raises(CryptoError):
        cryptometa.extract("abc; swift_meta=not-json")


@settings(max_examples=100, deadline=None)
@given(meta=meta_dicts, value=st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
    max_size=40))
def test_append_extract_round_trip(meta, value):
    assert cryptometa.extract(cryptometa.append(value, meta)) == (value, meta)


# --- check ------------------------------------------------------------------------

def test_check_accepts_good_meta():
    cryptometa.check({"cipher": "AES_CTR_256", "iv": bytes(16)})
    cryptometa.check(cryptometa.new_meta())


@pytest.mark.parametrize("meta", [
    {"cipher": "AES_CBC_256", "iv": bytes(16)},
    {"cipher": "aes_ctr_256", "iv": bytes(16)},
    {"iv": bytes(16)},
    {"cipher": "AES_CTR_256", "iv": bytes(15)},
    {"cipher": "AES_CTR_256", "iv": bytes(17)},
    {"cipher": "AES_CTR_256", "iv": b""},
    {"cipher": "AES_CTR_256", "iv": "A" * 16},
    {"cipher": "AES_CTR_256"},
    None,
    "meta",
])
def test_check_rejects(meta):
    with pytest.raises(CryptoError):
        cryptometa.check(meta)


def test_new_meta():
    a, b = cryptometa.new_meta(), cryptometa.new_meta()
    assert a["cipher"] == "AES_CTR_256" and len(a["iv"]) == 16
    assert a["iv"] != b["iv"]
    assert set(a) == {"cipher", "iv"}


# --- encrypted values ---------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(plaintext=st.binary(max_size=200), key=st.binary(min_size=32, max_size=32))
def test_encrypt_value_decrypt_header_round_trip(plaintext, key):
    value = cryptometa.encrypt_value(plaintext, key)
    b64, meta = cryptometa.extract(value)
    assert set(meta) == {"cipher", "iv"}
    assert base64.b64decode(b64) == ciphers.encrypt(key, meta["iv"], plaintext)
    assert decrypt_header(value, key) == (plaintext, meta)


def test_encrypt_value_extra_items_and_fresh_iv():
    key_id = {"v": "2", "path": "/a/c"}
    value = cryptometa.encrypt_value(b"etag", bytes(32), key_id=key_id)
    plaintext, meta = decrypt_header(value, bytes(32))
    assert plaintext == b"etag"
    assert meta["key_id"] == key_id
    other = cryptometa.encrypt_value(b"etag", bytes(32), key_id=key_id)
    assert other != value


def test_decrypt_header_wrong_key_gives_other_bytes():
    value = cryptometa.encrypt_value(b"secret value", bytes(32))
    assert decrypt_header(value, b"\x01" * 32)[0] != b"secret value"


def test_decrypt_header_errors():
    with pytest.raises(CryptoError):
        decrypt_header("abcd", bytes(32))
    bad_cipher = cryptometa.append("abcd", {"cipher": "XOR", "iv": bytes(16)})
    with pytest.raises(CryptoError):
        decrypt_header(bad_cipher, bytes(32))
    bad_b64 = cryptometa.append("ab*d", {"cipher": "AES_CTR_256", "iv": bytes(16)})
    with pytest.raises(CryptoError):
        decrypt_header(bad_b64, bytes(32))
    short_iv = cryptometa.append("abcd", {"cipher": "AES_CTR_256", "iv": bytes(8)})
    with pytest.raises(CryptoError):
        decrypt_header(short_iv, bytes(32))


def test_decrypt_value():
    meta = {"cipher": "AES_CTR_256", "iv": bytes(16)}
    ciphertext = ciphers.encrypt(bytes(32), bytes(16), b"hello")
    b64 = base64.b64encode(ciphertext).decode()
    assert cryptometa.decrypt_value(b64, bytes(32), meta) == b"hello"
    with pytest.raises(CryptoError):
        cryptometa.decrypt_value(b64, bytes(32), {"iv": bytes(16)})


# --- compatibility with Swift's crypto_utils -----------------------------------------

@settings(max_examples=200, deadline=None)
@given(meta=meta_dicts)
def test_same_serialization_as_swift(meta):
    ours = cryptometa.dump(meta)
    theirs = swift_cu.dump_crypto_meta(meta)
    assert ours == theirs
    assert swift_cu.load_crypto_meta(ours) == meta
    assert cryptometa.load(theirs) == meta


@settings(max_examples=100, deadline=None)
@given(meta=meta_dicts)
def test_append_extract_interchangeable_with_swift(meta):
    ours = cryptometa.append("dmFsdWU=", meta)
    theirs = swift_cu.append_crypto_meta("dmFsdWU=", meta)
    assert ours == theirs
    assert swift_cu.extract_crypto_meta(ours) == ("dmFsdWU=", meta)
    assert cryptometa.extract(theirs) == ("dmFsdWU=", meta)


@pytest.mark.parametrize("value", WITH_OTHER_PARAMS + ["abc; foo=bar", "abc"])
def test_extract_agrees_with_swift_on_extra_params(value):
    assert cryptometa.extract(value) == swift_cu.extract_crypto_meta(value)


def test_swift_header_value_decrypts_with_ours():
    crypto = swift_cu.Crypto()
    key = bytes(range(32))
    enc, meta = encrypt_header_val(crypto, "caf\u00c3\u00a9 value", key)  # WSGI str
    value = swift_cu.append_crypto_meta(enc, meta)
    plaintext, got_meta = decrypt_header(value, key)
    assert plaintext == "caf\u00e9 value".encode("utf-8")
    assert got_meta == meta


def test_our_header_value_decrypts_with_swift():
    crypto = swift_cu.Crypto()
    key = bytes(range(32))
    value = cryptometa.encrypt_value("caf\u00e9".encode("utf-8"), key,
                                     key_id={"v": "2", "path": "/a/c/o"})
    b64, meta = swift_cu.extract_crypto_meta(value)
    crypto.check_crypto_meta(meta)
    assert meta["key_id"] == {"v": "2", "path": "/a/c/o"}
    ctx = crypto.create_decryption_ctxt(key, meta["iv"], 0)
    assert ctx.update(base64.b64decode(b64)) == "caf\u00e9".encode("utf-8")


def test_body_meta_with_wrapped_key_interchangeable_with_swift():
    crypto = swift_cu.Crypto()
    object_key, body_key = bytes(range(32)), bytes(range(32, 64))
    # Swift wraps, we unwrap
    wrapped = crypto.wrap_key(object_key, body_key)
    meta = {"cipher": "AES_CTR_256", "iv": bytes(16), "body_key": wrapped,
            "key_id": {"v": "2", "path": "/a/c/o"}}
    loaded = cryptometa.load(swift_cu.dump_crypto_meta(meta))
    assert ciphers.unwrap_key(object_key, loaded["body_key"]) == body_key
    # we wrap, Swift unwraps
    meta["body_key"] = ciphers.wrap_key(object_key, body_key)
    loaded = swift_cu.load_crypto_meta(cryptometa.dump(meta))
    assert crypto.unwrap_key(object_key, loaded["body_key"]) == body_key


# --- template fast path ----------------------------------------------------------
# dump/load take templates for the shapes written on every request; the
# general route (json and a whole-text quote) must agree with them on
# everything, including texts and metas that fall off the templates.

def _general_dump(meta):
    encoded = cryptometa._map_binary(meta, lambda b: base64.b64encode(b).decode("ascii"))
    return quote_plus(json.dumps(encoded, sort_keys=True))


def _general_load(text):
    from urllib.parse import unquote_plus

    try:
        meta = json.loads(unquote_plus(text))
    except ValueError:
        return "not json"
    if not isinstance(meta, dict):
        return "not an object"
    try:
        return cryptometa._map_binary(meta, cryptometa._b64decode)
    except CryptoError as err:
        return "CryptoError: %s" % err


def _load_outcome(text):
    try:
        return cryptometa.load(text)
    except CryptoError as err:
        if str(err) == "crypto meta is not JSON":
            return "not json"
        if str(err) == "crypto meta is not a JSON object":
            return "not an object"
        return "CryptoError: %s" % err


# strings: plain ASCII (templated) and anything else (general route)
_key_id_text = st.text(max_size=12) | st.text(alphabet="/abc -_.~+%=\"\\", max_size=12)
_template_key_ids = st.fixed_dictionaries(
    {"path": _key_id_text, "v": st.sampled_from(["1", "2", "3"]) | _key_id_text},
    optional={"secret_id": _key_id_text})
_maybe_bytes = st.binary(max_size=40) | st.sampled_from([None, "text", 5])
_template_metas = st.one_of(
    st.fixed_dictionaries({"cipher": st.just(ciphers.CIPHER), "iv": _maybe_bytes}),
    st.fixed_dictionaries({"cipher": st.just(ciphers.CIPHER)},
                          optional={"iv": _maybe_bytes, "key_id": _template_key_ids,
                                    "extra": st.integers()}),
    st.fixed_dictionaries({
        "body_key": st.fixed_dictionaries({"iv": _maybe_bytes, "key": _maybe_bytes}),
        "cipher": st.sampled_from([ciphers.CIPHER, "AES_CTR_128"]),
        "iv": _maybe_bytes,
        "key_id": _template_key_ids | st.none()}),
)


@settings(max_examples=500, deadline=None)
@given(meta=_template_metas)
def test_template_dump_equals_general_dump(meta):
    try:
        expected = _general_dump(meta)
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            cryptometa.dump(meta)
        return
    assert cryptometa.dump(meta) == expected
    assert _load_outcome(expected) == _general_load(expected)


def _mutations(text):
    """Texts near ``text``: every single-character change at the places
    templates are sensitive to."""
    out = []
    for i in range(0, len(text), max(1, len(text) // 40)):
        for char in ("%", "+", "%22", "%5C", "%2f", "A", "%00", "%C3%A9", ""):
            out.append(text[:i] + char + text[i + 1:])
    return out


@settings(max_examples=200, deadline=None)
@given(meta=_template_metas, data=st.data())
def test_template_load_equals_general_load(meta, data):
    try:
        text = _general_dump(meta)
    except (TypeError, ValueError):
        return
    texts = [text, text.lower(), text.replace("%2F", "%2f"), text.replace("+", "%20")]
    texts.append(data.draw(st.sampled_from(_mutations(text))))
    for candidate in texts:
        assert _load_outcome(candidate) == _general_load(candidate), candidate


@pytest.mark.parametrize("meta", [
    {"cipher": ciphers.CIPHER, "iv": bytes(16)},
    {"cipher": ciphers.CIPHER, "iv": bytes(16), "key_id": {"path": "/a/c/o", "v": "2"}},
    {"cipher": ciphers.CIPHER, "iv": bytes(16),
     "key_id": {"path": "/a b/c+d/e%f", "secret_id": "s 1", "v": "3"}},
    {"cipher": ciphers.CIPHER, "key_id": {"path": "/a/c/o", "v": "1"}},
    {"cipher": ciphers.CIPHER, "key_id": {"path": "/a/c/o", "secret_id": "x", "v": "1"}},
    {"body_key": {"iv": bytes(16), "key": bytes(32)}, "cipher": ciphers.CIPHER,
     "iv": b"\xfb" * 16, "key_id": {"path": "/a/c/o", "v": "2"}},
    {"body_key": {"iv": bytes(16), "key": bytes(32)}, "cipher": ciphers.CIPHER,
     "iv": b"\xff" * 16, "key_id": {"path": "/a/c/~o", "secret_id": "2024", "v": "2"}},
])
def test_written_shapes_take_the_templates(meta):
    text = templates.dump(meta)
    assert text == _general_dump(meta)
    assert templates.load(text) == meta


@pytest.mark.parametrize("meta", [
    {"cipher": ciphers.CIPHER, "iv": bytes(16), "key_id": {"path": "/\u00e9", "v": "3"}},
    {"cipher": ciphers.CIPHER, "iv": bytes(16), "key_id": {"path": 'a"b', "v": "3"}},
    {"cipher": ciphers.CIPHER, "iv": bytes(16), "key_id": {"path": "a\\b", "v": "3"}},
    {"cipher": ciphers.CIPHER, "iv": bytes(16), "other": 1},
    {"cipher": "AES_CTR_128", "iv": bytes(16)},
])
def test_other_shapes_take_the_general_route(meta):
    assert templates.dump(meta) is None
    text = cryptometa.dump(meta)
    assert templates.load(text) is None
    assert cryptometa.load(text) == _general_load(text)


def test_bytes_like_iv_dumps_by_the_general_route_to_the_same_text():
    meta = {"cipher": ciphers.CIPHER, "iv": bytearray(16)}
    assert templates.dump(meta) is None
    assert cryptometa.dump(meta) == cryptometa.dump({"cipher": ciphers.CIPHER, "iv": bytes(16)})


def test_template_load_bad_base64_raises_as_general():
    text = quote_plus('{"cipher": "AES_CTR_256", "iv": "AAA", "key_id": '
                      '{"path": "/a/c/o", "v": "2"}}')
    with pytest.raises(CryptoError, match="not valid base64"):
        cryptometa.load(text)
    assert _general_load(text) == "CryptoError: iv or key is not valid base64"


def test_extract_fast_form_equals_loop():
    meta = {"cipher": ciphers.CIPHER, "iv": bytes(16)}
    dumped = cryptometa.dump(meta)
    for value in ("abc ; swift_meta=%s " % dumped, "abc; swift_meta= %s" % dumped,
                  "abc; swift_meta=%s; x=y" % dumped, "abc; SWIFT_META=%s" % dumped):
        assert cryptometa.extract(value) == ("abc", meta)


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=40), key_id=st.none() | _template_key_ids,
       other=st.none() | st.integers())
def test_encrypt_value_equals_append_of_its_meta(plaintext, key_id, other):
    key = bytes(range(32))
    extra = {}
    if key_id is not None:
        extra["key_id"] = key_id
    if other is not None:
        extra["other"] = other
    value = cryptometa.encrypt_value(plaintext, key, **extra)
    b64, meta = cryptometa.extract(value)
    assert value == cryptometa.append(b64, meta)
    assert meta == dict({"cipher": ciphers.CIPHER, "iv": meta["iv"]}, **extra)
    assert base64.b64decode(b64) == ciphers.encrypt(key, meta["iv"], plaintext)
    # a ShortCtr of the key gives the same
    short_value = cryptometa.encrypt_value(plaintext, ShortCtr(key), **extra)
    assert decrypt_header(short_value, key)[0] == plaintext
