"""Fuzz targets: each takes the raw bytes of one input and raises only on a
bug (an exception other than the documented refusal, or a broken
invariant). Plain Python, no atheris: the corpus replay test and the
atheris harness (``fuzz.py``) share them.

Inputs are decoded without a fuzzing library so that a corpus file means
the same thing to both: text is the bytes as latin-1 (a WSGI string), and
structured inputs are lines.
"""

import base64
import json

from swiftcrypt import byteranges, cryptometa, keyids
from swiftcrypt.byteranges import ByterangesRewriter
from swiftcrypt.decrypter import (
    Decrypter,
    DecryptionFailed,
    ListingDecrypter,
    ObjectKeys,
    decrypt_object_headers,
)
from swiftcrypt.errors import CryptoError
from swiftcrypt.keymaster import CALLBACK, KeyMaster, RootSecrets
from swiftcrypt.keys import KeysUnavailable

ROOT_SECRET = b"F" * 32  # fixed, so seeds made with it decrypt
OTHER_SECRET = b"G" * 32
ACCOUNT, CONTAINER, OBJECT = "AUTH_fuzz", "cont", "obj"
OBJECT_PATH = "/v1/%s/%s/%s" % (ACCOUNT, CONTAINER, OBJECT)


class Invariant(AssertionError):
    """A target's property does not hold: a bug even without a traceback."""


def _text(data):
    return data.decode("latin-1")


def cryptometa_load(data):
    """load() of any text: a dict or CryptoError, and check() of the dict
    a CryptoError or a valid cipher/IV."""
    try:
        meta = cryptometa.load(_text(data))
    except CryptoError:
        return
    if not isinstance(meta, dict):
        raise Invariant("load returned %r" % type(meta))
    try:
        cryptometa.check(meta)
    except CryptoError:
        return
    if len(meta["iv"]) != 16:
        raise Invariant("check passed a bad iv")
    # What loads must dump and load again to the same thing.
    if cryptometa.load(cryptometa.dump(meta)) != meta:
        raise Invariant("dump/load round trip changed the meta")


def cryptometa_extract(data):
    """extract() of any header value: (value, meta or None) or CryptoError."""
    try:
        value, meta = cryptometa.extract(_text(data))
    except CryptoError:
        return
    if not isinstance(value, str) or not (meta is None or isinstance(meta, dict)):
        raise Invariant("extract returned %r, %r" % (type(value), type(meta)))


def _split3(data):
    parts = _text(data).split("\n", 3)
    parts += [""] * (4 - len(parts))
    return parts


def keyids_resolve(data):
    """resolve_key_paths(key_id, account, container, obj).

    Input lines: key_id JSON, account, container, object (an empty
    container or object line means none).
    """
    raw, account, container, obj = _split3(data)
    try:
        key_id = json.loads(raw)
    except ValueError:
        key_id = raw
    account = account or ACCOUNT
    container = container or None
    obj = (obj or None) if container else None
    try:
        secret_id, version, cpath, opath = keyids.resolve_key_paths(
            key_id, account, container, obj)
    except CryptoError:
        return
    if version not in keyids.VERSIONS:
        raise Invariant("version %r accepted" % (version,))
    if container is not None and not isinstance(cpath, str):
        raise Invariant("no container path for a container request")
    if obj is not None and not isinstance(opath, str):
        raise Invariant("no object path for an object request")
    if obj is None and opath is not None:
        raise Invariant("object path for a container request")
    for path in (cpath, opath):
        if path is not None:
            path.encode("utf-8", "surrogatepass")  # keys derive from its UTF-8


class _Identity:
    def update(self, data):
        return data


def byteranges_rewriter(data):
    """ByterangesRewriter over any body, fed in chunks.

    The first line is the boundary, the first byte after it the chunk
    size; with an identity transform the output must be the input, however
    it is chunked.
    """
    boundary, _nl, rest = data.partition(b"\n")
    size = (rest[0] if rest else 0) % 64 + 1
    body = rest[1:]
    outputs = []
    for chunk_size in (size, len(body) or 1):
        rewriter = ByterangesRewriter(boundary, lambda start: _Identity())
        out = []
        try:
            for i in range(0, len(body), chunk_size):
                out.append(rewriter.feed(body[i:i + chunk_size]))
            out.append(rewriter.finish())
        except CryptoError:
            outputs.append(None)
            continue
        outputs.append(b"".join(out))
    for result in outputs:
        if result is not None and result != body:
            raise Invariant("identity rewrite changed the body")
    if outputs[0] != outputs[1]:
        raise Invariant("result depends on how the body is chunked")


def content_range(data):
    """parse_content_range: (start, end, total) or ValueError."""
    try:
        start, end, total = byteranges.parse_content_range(_text(data))
    except ValueError:
        return
    if not all(isinstance(n, int) and n >= 0 for n in (start, end)):
        raise Invariant("bad numbers")
    if total is not None and not isinstance(total, int):
        raise Invariant("bad total")


def keys_environ():
    """An environ holding our keymaster's callback for OBJECT_PATH."""
    roots = RootSecrets({None: ROOT_SECRET, "other": OTHER_SECRET})
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": OBJECT_PATH}
    KeyMaster(lambda env, start: None, roots)(environ, None)
    if CALLBACK not in environ:
        raise RuntimeError("keymaster set no callback")
    return environ


def _headers(data):
    headers = []
    for line in _text(data).split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return headers


def decrypt_headers(data):
    """The decrypter's header decryption of any response headers.

    Input: ``Name: value`` lines. A DecryptionFailed names the header at
    fault; nothing else may be raised, crypto headers must never reach the
    client, and a decrypted etag must be what the response says.
    """
    headers = _headers(data)
    try:
        result = decrypt_object_headers(headers, ObjectKeys(keys_environ()))
    except DecryptionFailed as err:
        if not isinstance(err.header, str) or not err.header:
            raise Invariant("DecryptionFailed without a header") from err
        return
    except KeysUnavailable as err:
        raise Invariant("our keymaster failed: %s" % err) from err
    if result is None:
        return
    for name, value in result.headers:
        lname = name.lower()
        if lname.startswith(("x-object-sysmeta-crypto-", "x-object-transient-sysmeta-crypto-")):
            raise Invariant("crypto header %s passed to the client" % name)
        if not isinstance(value, str):
            raise Invariant("header %s value is %r" % (name, type(value)))
    if result.etag is not None and ("Etag", result.etag) not in result.headers:
        raise Invariant("decrypted etag not in the headers")
    if result.body_key is not None and len(result.body_key) != 32:
        raise Invariant("body key of %d bytes" % len(result.body_key))


class _Log:
    def __init__(self):
        self.lines = []

    def error(self, msg, *args):
        self.lines.append(msg % args)

    warning = info = debug = exception = error


def listing_hash(data):
    """ListingDecrypter.decrypt of any listing hash value."""
    listing = ListingDecrypter(keys_environ(), _Log())
    result = listing.decrypt(_text(data), "name")
    if not isinstance(result, str):
        raise Invariant("listing hash decrypted to %r" % type(result))


def listing_body(data):
    """The decrypter's rewrite of any container listing body (first byte:
    0 for JSON, else XML). ValueError is its refusal (it answers 500)."""
    rewrite = Decrypter._rewrite_json if not data[:1] or data[0] % 2 == 0 \
        else Decrypter._rewrite_xml
    listing = ListingDecrypter(keys_environ(), _Log())
    try:
        out = rewrite(data[1:], listing)
    except ValueError:
        return
    if not isinstance(out, bytes):
        raise Invariant("listing rewrite returned %r" % type(out))


TARGETS = {
    "cryptometa_load": cryptometa_load,
    "cryptometa_extract": cryptometa_extract,
    "keyids_resolve": keyids_resolve,
    "byteranges_rewriter": byteranges_rewriter,
    "content_range": content_range,
    "decrypt_headers": decrypt_headers,
    "listing_hash": listing_hash,
    "listing_body": listing_body,
}


def b64(data):
    return base64.b64encode(data).decode("ascii")
