"""fast.cryptometa_templates differential-tested against its reference,
the JSON route of crypto.cryptometa (dump_json, load_json): random metas
of every shape the format allows, those the templates cover (which must
take them) and those they do not (which must fall back, None), and texts
near a dump."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.crypto import ciphers, cryptometa
from swiftcrypt.crypto.fast import cryptometa_templates as templates
from swiftcrypt.common.errors import CryptoError

# what templates take: strings json writes as they are (printable ASCII
# but " and \)
_plain = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e,
                                        blacklist_characters='"\\'), max_size=16)
_any_text = st.text(max_size=16)
_iv = st.binary(min_size=16, max_size=16)
_key = st.binary(min_size=32, max_size=32)


def _key_id(text):
    return st.fixed_dictionaries({"path": text, "v": st.sampled_from(["1", "2", "3"]) | text},
                                 optional={"secret_id": text})


_cipher = st.just(ciphers.CIPHER)
# every shape written: etag and metadata values, the listing etag, the
# metadata set, the body
_covered = st.one_of(
    st.fixed_dictionaries({"cipher": _cipher, "iv": _iv}),
    st.fixed_dictionaries({"cipher": _cipher, "iv": _iv, "key_id": _key_id(_plain)}),
    st.fixed_dictionaries({"cipher": _cipher, "key_id": _key_id(_plain)}),
    st.fixed_dictionaries({"body_key": st.fixed_dictionaries({"iv": _iv, "key": _key}),
                           "cipher": _cipher, "iv": _iv, "key_id": _key_id(_plain)}))
# shapes the format allows that no template covers
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _any_text,
    lambda inner: st.lists(inner, max_size=3), max_leaves=5)
_uncovered = st.one_of(
    # strings that need a JSON escape, or are not ASCII
    st.fixed_dictionaries({"cipher": _cipher, "iv": _iv,
                           "key_id": _key_id(_any_text.filter(
                               lambda t: not t.isascii() or '"' in t or "\\" in t or any(
                                   c < " " or c == "\x7f" for c in t)))}),
    # another cipher, other items, a key id of another shape
    st.fixed_dictionaries({"cipher": st.sampled_from(["AES_CTR_128", ""]), "iv": _iv}),
    st.fixed_dictionaries({"cipher": _cipher, "iv": _iv,
                           "other": _json_values}),
    st.fixed_dictionaries({"cipher": _cipher, "iv": _iv,
                           "key_id": st.fixed_dictionaries(
                               {"path": _plain, "v": _plain, "extra": _json_values})}),
    st.fixed_dictionaries({"cipher": _cipher, "key_id": st.fixed_dictionaries(
        {"path": _plain, "v": st.integers()})}),
    st.fixed_dictionaries({"body_key": st.fixed_dictionaries({"iv": _iv, "key": _key}),
                           "cipher": _cipher, "iv": _iv}),
)


def _outcome(parse, text):
    try:
        return parse(text)
    except CryptoError as err:
        return "CryptoError: %s" % err


def _check_load(text):
    """The template parse is the reference's, or a fall back (None)."""
    fast = _outcome(templates.load, text)
    if fast is not None:
        assert fast == _outcome(cryptometa.load_json, text), text
    assert _outcome(cryptometa.load, text) == _outcome(cryptometa.load_json, text), text


@settings(max_examples=300, deadline=None)
@given(meta=_covered)
def test_covered_shapes_take_the_templates_and_equal_the_reference(meta):
    text = templates.dump(meta)
    assert text is not None and text == cryptometa.dump_json(meta)
    assert templates.load(text) == cryptometa.load_json(text) == meta


@settings(max_examples=300, deadline=None)
@given(meta=_uncovered)
def test_other_shapes_fall_back_to_the_reference(meta):
    assert templates.dump(meta) is None
    text = cryptometa.dump(meta)
    assert text == cryptometa.dump_json(meta)
    assert templates.load(text) is None
    assert cryptometa.load(text) == cryptometa.load_json(text) == meta


def _near(text, data):
    """A text one edit from ``text`` at a place templates are sensitive to."""
    i = data.draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))
    edit = data.draw(st.sampled_from(["%", "+", "%22", "%5C", "%2f", "%7C", "|", "A", "=",
                                      "%00", "%C3%A9", "%3D", "%7D", ""]))
    return text[:i] + edit + text[i + 1:]


@settings(max_examples=300, deadline=None)
@given(meta=_covered | _uncovered, data=st.data())
def test_texts_near_a_dump_parse_as_the_reference_parses_them(meta, data):
    text = cryptometa.dump_json(meta)
    for candidate in (text, text.lower(), _near(text, data), _near(_near(text, data), data)):
        _check_load(candidate)


@settings(max_examples=200, deadline=None)
@given(iv=_iv, ciphertext=st.binary(max_size=40),
       extra=st.just({}) | st.fixed_dictionaries({"key_id": _key_id(_plain | _any_text)})
       | st.fixed_dictionaries({"other": _plain}))
def test_encrypted_values_are_the_references(iv, ciphertext, extra):
    b64 = cryptometa.base64.b64encode(ciphertext).decode("ascii")
    text = templates.encrypted_value(b64, iv, extra)
    reference = "%s; swift_meta=%s" % (b64, cryptometa.dump_json(dict(
        {"cipher": ciphers.CIPHER, "iv": iv}, **extra)))
    assert text is None or text == reference
    if "other" in extra:
        assert text is None


def test_a_cipher_alone_dumps_from_its_template_and_loads_by_the_reference():
    meta = {"cipher": ciphers.CIPHER}
    text = templates.dump(meta)
    assert text == cryptometa.dump_json(meta) and templates.load(text) is None
    assert cryptometa.load(text) == meta


def test_the_reference_refuses_what_is_not_crypto_meta():
    for text in ("", "%7B", "%5B%5D", "null"):
        with pytest.raises(CryptoError):
            cryptometa.load_json(text)
        assert templates.load(text) is None


# key ids that collide on purpose: few strings, the shapes the memo of
# dumped key ids must tell apart (an extra item, secret_id null or not text)
_few = st.sampled_from(["/a/c/o", "2", "s", "/a/c"])
_near_key_ids = st.one_of(
    _key_id(_few),
    st.fixed_dictionaries({"path": _few, "v": _few, "extra": _few}),
    st.fixed_dictionaries({"path": _few, "v": _few, "secret_id": st.none() | st.integers()}),
    st.fixed_dictionaries({"path": _few, "secret_id": _few}),
    st.fixed_dictionaries({"path": _few, "v": st.integers() | st.none()}))


@settings(max_examples=300, deadline=None)
@given(key_ids=st.lists(_near_key_ids, min_size=1, max_size=8), iv=_iv)
def test_key_ids_dumped_again_are_dumped_as_the_reference_does(key_ids, iv):
    """The memo of dumped key ids: a key id like one dumped before gets
    its own dump (or the fall back), never the other's."""
    for key_id in key_ids * 2:  # the second pass from the memo
        meta = {"cipher": ciphers.CIPHER, "iv": iv, "key_id": key_id}
        text = templates.dump(meta)
        assert text is None or text == cryptometa.dump_json(meta)
        assert cryptometa.dump(meta) == cryptometa.dump_json(meta)


def test_the_memo_of_dumped_key_ids_is_bounded():
    for i in range(templates.KEY_ID_DUMPS_MAX + 10):
        key_id = {"path": "/a/c/o%d" % i, "v": "2"}
        assert templates.dump({"cipher": ciphers.CIPHER, "key_id": key_id}) == \
            cryptometa.dump_json({"cipher": ciphers.CIPHER, "key_id": key_id})
        assert len(templates._KEY_ID_DUMPS) <= templates.KEY_ID_DUMPS_MAX
