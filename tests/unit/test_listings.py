"""listings: the etags of JSON and XML container listings decrypted, an
entry that does not decrypt shown as <unknown>."""

import json

import pytest

from swiftcrypt.crypto import cryptometa
from swiftcrypt.keymasters.config_keymaster import CALLBACK, KeyMaster, RootSecrets
from swiftcrypt.middleware.listings import (
    UNKNOWN_ETAG, ListingDecrypter, rewrite_json, rewrite_xml)


class _Log:
    def __init__(self):
        self.lines = []

    def error(self, msg, *args):
        self.lines.append(msg % args)


def _environ():
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/AUTH_a/c"}
    KeyMaster(lambda env, start: None, RootSecrets({None: b"L" * 32}))(environ, None)
    return environ


def _hash(environ, etag, name="o"):
    keys = environ[CALLBACK]()
    key_id = dict(keys["id"], path="/AUTH_a/c/" + name)
    return cryptometa.encrypt_value(etag.encode(), keys["container"], key_id=key_id)


def test_json_listing_etags_are_decrypted_and_plain_ones_kept():
    environ = _environ()
    etags = ["%032x" % i for i in range(5)]
    entries = [{"name": "o%d" % i, "hash": _hash(environ, e, "o%d" % i)}
               for i, e in enumerate(etags)]
    entries.append({"name": "plain", "hash": "d41d8cd98f00b204e9800998ecf8427e"})
    entries.append({"subdir": "dir/"})
    log = _Log()
    out = json.loads(rewrite_json(json.dumps(entries).encode(), ListingDecrypter(environ, log)))
    assert [e.get("hash") for e in out] == etags + ["d41d8cd98f00b204e9800998ecf8427e", None]
    assert log.lines == []


def test_an_entry_that_does_not_decrypt_is_unknown_and_logged_once():
    environ = _environ()
    good = _hash(environ, "a" * 32)
    bad = good.replace("swift_meta=%7B%22cipher%22%3A+%22AES_CTR_256",
                       "swift_meta=%7B%22cipher%22%3A+%22AES_CTR_128")
    log = _Log()
    listing = ListingDecrypter(environ, log)
    assert [listing.decrypt(v, "o") for v in (bad, good, bad)] == [
        UNKNOWN_ETAG, "a" * 32, UNKNOWN_ETAG]
    assert len(log.lines) == 1 and "AES_CTR_256" in log.lines[0]


def test_xml_listing_hashes_are_decrypted_and_escaped_back():
    environ = _environ()
    body = ("<?xml version=\"1.0\"?><container><object><name>o</name><hash>%s</hash>"
            "</object><object><hash>a&amp;b</hash></object></container>"
            % _hash(environ, "b" * 32)).encode()
    out = rewrite_xml(body, ListingDecrypter(environ, _Log())).decode()
    assert "<hash>%s</hash>" % ("b" * 32) in out and "<hash>a&amp;b</hash>" in out


def test_a_listing_that_is_not_a_json_array_or_utf8_is_refused():
    listing = ListingDecrypter(_environ(), _Log())
    with pytest.raises(ValueError):
        rewrite_json(b'{"hash": "x"}', listing)
    with pytest.raises(ValueError):
        rewrite_xml(b"<hash>\xff</hash>", listing)
