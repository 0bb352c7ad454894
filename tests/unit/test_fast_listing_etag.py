"""crypto.fast.listing_etag against its reference, crypto.listing_etag
(the crypto-meta parser and a key fetched per key id): on every value the
fast split takes, the same plaintext; a listing decrypted with the fast
route on gives entry for entry what the reference gives."""

import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from swiftcrypt.common import names
from swiftcrypt.crypto import ciphers, cryptometa, listing_etag
from swiftcrypt.crypto.derivation import derive_key
from swiftcrypt.crypto.fast import listing_etag as fast
from swiftcrypt.middleware.listings import UNKNOWN_ETAG, ListingDecrypter

_etag = st.text("0123456789abcdef\"W/", min_size=1, max_size=34)
ROOTS = {None: bytes(range(32)), "s1": bytes(range(1, 33)), "a b": bytes(range(2, 34))}
_name = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1,
                max_size=8) | st.sampled_from(["c", "AUTH_test", "o", "x.y~z-_"])
_key_id = st.builds(
    lambda a, c, o, secret_id, v: dict(
        {"path": "/%s/%s/%s" % (a, c, o), "v": v},
        **({} if secret_id is None else {"secret_id": secret_id})),
    _name, _name, _name | st.just("o/with/slashes"), st.sampled_from(sorted(ROOTS, key=str)),
    st.sampled_from(["1", "2", "3"]))


def container_key(key_id):
    """The test keymaster: a container key from the secret and /<a>/<c> of
    the key id's path, as every keymaster derives it for v2 and v3."""
    account, container = key_id["path"].split("/")[1:3]
    return derive_key(ROOTS[key_id.get("secret_id")], "/%s/%s" % (account, container))


def stored(etag, key_id):
    return listing_etag.encrypt(etag, True, container_key(key_id), key_id)


@settings(max_examples=300, deadline=None)
@given(_key_id, _etag)
def test_the_fast_split_gives_what_the_reference_decrypts(key_id, etag):
    value = stored(etag, key_id)
    reference = listing_etag.decrypt(value, container_key)
    assert reference == etag
    split = fast.split(value)
    if split is None:
        return
    ciphertext, iv, _text = split
    assert key_id["v"] in ("2", "3")
    assert ciphers.decrypt(container_key(key_id), iv, ciphertext).decode("utf-8") == reference


@settings(max_examples=200, deadline=None)
@given(_key_id, _key_id)
def test_one_text_means_one_container_key(one, other):
    a, b = fast.split(stored("e", one)), fast.split(stored("e", other))
    if a is not None and b is not None and a[2] == b[2]:
        assert container_key(one) == container_key(other)


def test_the_forms_we_and_swift_write_take_the_fast_split():
    for key_id in ({"path": "/AUTH_a/c/o", "v": "2"},
                   {"path": "/AUTH_a/c/dir/o.txt", "v": "3", "secret_id": "s1"}):
        assert fast.split(stored("0" * 32, key_id)) is not None
    # not the exact form: the reference route
    value = stored("0" * 32, {"path": "/AUTH_a/c/o", "v": "2"})
    for other in (value + "; x=1", " " + value, value.replace("AES_CTR_256", "AES_CTR_128"),
                  stored("0" * 32, {"path": "/AUTH_a/c/o", "v": "1"}),
                  stored("0" * 32, {"path": "/AUTH a/c/o", "v": "2"}),
                  cryptometa.encrypt_value(b"0" * 32, ROOTS[None])):
        assert fast.split(other) is None, other


def _decrypter():
    fetched = []

    def fetch(key_id=None):
        fetched.append(key_id)
        return {"container": container_key(key_id)}

    return ListingDecrypter({names.KEYS_CALLBACK: fetch, "PATH_INFO": "/v1/a/c"},
                            logging.getLogger("test")), fetched


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_key_id, _etag), min_size=1, max_size=12),
       st.data())
def test_a_listing_decrypts_entry_for_entry_as_the_reference(entries, data):
    values = [stored(etag, key_id) for key_id, etag in entries]
    # and some broken ones: a flipped ciphertext byte, a wrong key id
    for i in data.draw(st.lists(st.integers(0, len(values) - 1), max_size=3)):
        head, sep, rest = values[i].partition(";")
        values.append(head[::-1] + sep + rest)
    decrypter, fetched = _decrypter()
    for value in values:
        try:
            want = listing_etag.decrypt(value, container_key)
        except Exception:
            want = UNKNOWN_ETAG
        got = decrypter.decrypt(value, "o")
        # a reversed base64 ciphertext may still decrypt, to other bytes:
        # then both routes give the same text or both give <unknown>
        assert got == want, value


def test_a_container_key_is_fetched_once_per_listing():
    decrypter, fetched = _decrypter()
    values = [stored("%032x" % i, {"path": "/AUTH_a/c/o%d" % i, "v": "2"}) for i in range(50)]
    assert [decrypter.decrypt(v, "o") for v in values] == ["%032x" % i for i in range(50)]
    assert len(fetched) == 1
    # entries after the first took the fast route, under one container text
    assert len(decrypter._by_text) == 1
