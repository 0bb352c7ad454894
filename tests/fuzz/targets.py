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
from collections import Counter

from webob import Request

from swiftcrypt.middleware import byteranges

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import account_container_metadata as acmeta

from swiftcrypt.crypto import derivation

from swiftcrypt.crypto import keyids
from swiftcrypt.middleware.byteranges import ByterangesRewriter
from swiftcrypt.middleware.account_container_metadata import AccountContainerDecrypter
from swiftcrypt.middleware.decrypter import (
    DecryptionFailed,
    ObjectKeys,
    decrypt_object_headers,
)
from swiftcrypt.middleware.listings import (
    ListingDecrypter, rewrite_json, rewrite_xml, send_decrypted_listing)
from swiftcrypt.middleware.encrypter import DbMetaEncrypter
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.keymasters.config_keymaster import CALLBACK, KeyMaster, RootSecrets
from swiftcrypt.middleware.keycallback import KeysUnavailable
from swiftcrypt.common.swiftpath import split_path, str_to_wsgi, wsgi_to_str

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
    rewrite = rewrite_json if not data[:1] or data[0] % 2 == 0 else rewrite_xml
    listing = ListingDecrypter(keys_environ(), _Log())
    try:
        out = rewrite(data[1:], listing)
    except ValueError:
        return
    if not isinstance(out, bytes):
        raise Invariant("listing rewrite returned %r" % type(out))


# -- encrypted account and container metadata (dbmeta.py) --------------------

LEVELS = {"account": acmeta.ACCOUNT, "container": acmeta.CONTAINER}
ROOTS = {None: ROOT_SECRET, "other": OTHER_SECRET}
EXTRA_PLAIN = "plain_*"  # an option pattern written with "_" (32a6bfc)


def _db_request(line):
    """``(method, path, level, account, container)`` of a ``METHOD /v1/a[/c]``
    first line (real-text parts), or None when it names no account or
    container."""
    method, _sp, path = line.strip().partition(" ")
    parts = split_path(path)
    if parts is None or parts[3] is not None:
        return None
    _version, account, container, _obj = parts
    kind = "account" if container is None else "container"
    return method, path, LEVELS[kind], account, container


def _db_keymaster(app, active_id=None):
    return KeyMaster(app, RootSecrets(dict(ROOTS), active_id))


def _call(app, method, path, environ_extra=()):
    """``(status, headers, body)`` of one in-process request."""
    environ = Request.blank("/").environ
    environ.update(REQUEST_METHOD=method, PATH_INFO=path)
    environ.update(environ_extra)
    got = {}
    body = b"".join(app(environ, lambda s, h, e=None: got.update(status=s, headers=h)))
    return int(got["status"][:3]), got["headers"], body


def _names_this(key_id, want):
    """Does a stored key id name ``want`` (the real-text ``/a`` or
    ``/a/c``)? Written here from the contract, not with keyids: v3 paths
    are real text, v1/v2 WSGI strings (or real text, from an old proxy)."""
    if not isinstance(key_id, dict) or key_id.get("v") not in ("1", "2", "3"):
        return False
    path = key_id.get("path")
    if not isinstance(path, str):
        return False
    readings = {path}
    if key_id["v"] != "3":
        try:
            readings.add(wsgi_to_str(path))
        except UnicodeError:
            pass
    return want in readings


def _expected_plaintext(value, want):
    """What a stored ``<b64>; swift_meta=`` value must decrypt to for the
    request naming ``want``: bytes, or None when the decrypter must refuse
    it. The key is derived here from ``want`` itself, so a value whose key
    id names another account or container can never be "expected"."""
    try:
        ciphertext, meta = cryptometa.extract(value)
    except CryptoError:
        return None
    if not isinstance(meta, dict):
        return None
    key_id = meta.get("key_id")
    if not _names_this(key_id, want):
        return None
    secret_id = key_id.get("secret_id")
    if secret_id not in ROOTS:  # None (absent) is the default secret
        return None
    key = derivation.derive_key(ROOTS[secret_id], want)
    try:
        plaintext = cryptometa.decrypt_value(ciphertext, key, meta)
        plaintext.decode("utf-8")
    except (CryptoError, UnicodeDecodeError):
        return None
    return plaintext


def db_meta_decrypt(data):
    """The decrypter's GET of an account or container whose backend
    answers any headers.

    Input: ``GET /v1/<a>[/<c>]`` then ``Name: value`` lines. The response
    must be exactly what the stored values say: every encrypted value
    (without a plain one of its name beside it) decrypted under the key of
    the requested account or container, the crypto sysmeta gone and the
    rest untouched - or, if any such value is not readable so (damaged,
    another key, a key id naming elsewhere), the documented 500.
    """
    first, _nl, rest = _text(data).partition("\n")
    request = _db_request(first)
    if request is None:
        return
    _method, path, level, account, container = request
    want = keyids.account_path(account) if container is None \
        else keyids.container_path(account, container)
    stored = _headers(rest.encode("latin-1"))

    def backend(environ, start_response):
        start_response("200 OK", list(stored))
        return [b""]

    reads = AccountContainerDecrypter(backend, _Log(), send_decrypted_listing)
    status, headers, body = _call(_db_keymaster(reads), "GET", path)
    crypto_l, user_l = level.crypto_prefix.lower(), level.user_prefix.lower()
    plain = {n.lower()[len(user_l):] for n, v in stored
             if n.lower().startswith(user_l) and v}
    expected = [(n, v) for n, v in stored if not n.lower().startswith(crypto_l)]
    readable = True
    for name, value in stored:
        short = name[len(crypto_l):]
        if not name.lower().startswith(crypto_l) or not value or short.lower() in plain:
            continue
        plaintext = _expected_plaintext(value, want)
        if plaintext is None:
            readable = False
        else:
            expected.append((level.user_prefix + short, plaintext.decode("latin-1")))
    if status == 500:
        if body != b"Error decrypting %s metadata" % level.kind.encode():
            raise Invariant("500 with %r" % body)
        if readable:
            raise Invariant("readable metadata refused")
        return
    if status != 200:
        raise Invariant("status %d" % status)
    if not readable:
        raise Invariant("unreadable metadata (damaged, or keyed elsewhere) served")
    for name, _value in headers:
        if name.lower().startswith(crypto_l):
            raise Invariant("crypto sysmeta %s passed to the client" % name)
    if Counter(headers) != Counter(expected):
        raise Invariant("headers %r, expected %r" % (headers, expected))


def db_key_id(data):
    """keyids.resolve_account_path and check_db_key_id of any stored key id.

    Input lines: key_id JSON, account, container (empty: an account
    item), as real text. Both accept exactly a key id naming that
    account or container, and the keymaster then derives the key of the
    request's own path.
    """
    raw, account, container, _rest = _split3(data)
    try:
        key_id = json.loads(raw)
    except ValueError:
        key_id = raw
    if not account or "/" in account + container:  # no such request path
        return
    container = container or None
    want = keyids.account_path(account) if container is None \
        else keyids.container_path(account, container)
    try:
        keyids.check_db_key_id(key_id, account, container)
        accepted = True
    except CryptoError:
        accepted = False
    if accepted != _names_this(key_id, want):
        raise Invariant("check_db_key_id %s a key id %s"
                        % ("accepted" if accepted else "refused",
                           "naming elsewhere" if accepted else "naming the request"))
    if container is None:
        try:
            secret_id, version, path = keyids.resolve_account_path(key_id, account)
        except CryptoError:
            if accepted:
                raise Invariant("resolve_account_path refused what check_db_key_id took")
            return
        if not accepted:
            raise Invariant("resolve_account_path took what check_db_key_id refused")
        if path != want or version not in keyids.VERSIONS or secret_id != key_id.get("secret_id"):
            raise Invariant("resolved to %r" % ((secret_id, version, path),))
    elif accepted:
        # what the decrypter then derives the container key from
        secret_id, version, cpath, opath = keyids.resolve_key_paths(
            key_id, account, container, None)
        if cpath != want or opath is not None:
            raise Invariant("container key from %r, not %r" % (cpath, want))
    if not accepted or key_id.get("secret_id") not in ROOTS:
        return
    # through the keymaster's callback: the key of the request's own path
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1" + str_to_wsgi(want)}
    _db_keymaster(lambda env, start: None)(environ, None)
    keys = environ[CALLBACK](key_id=key_id)
    if keys[level_kind(container)] != derivation.derive_key(
            ROOTS[key_id.get("secret_id")], want):
        raise Invariant("keymaster derived the key of another path")


def level_kind(container):
    return "account" if container is None else "container"


def _plain_name(short, level):
    """Kept plain at ``level``? From the documented names, not from
    PlainNames."""
    lname = short.lower()
    names = acmeta.ACCOUNT_PLAIN_NAMES if level is acmeta.ACCOUNT \
        else acmeta.CONTAINER_PLAIN_NAMES
    for pattern in names + ("plain-*",):
        if lname == pattern or (pattern.endswith("*") and lname.startswith(pattern[:-1])):
            return True
    return False


def _swift_refuses(headers, prefix):
    """Swift's proxy check_metadata (account and container) on the
    ``(name, value)`` WSGI headers, as a yes/no."""
    count = size = 0
    for name, value in headers:
        if not name.lower().startswith(prefix):
            continue
        short = name[len(prefix):]
        if not short or len(value) > 8192:
            return True
        for text in (short, value) if value else (short,):
            try:
                if "\x00" in wsgi_to_str(text):
                    return True
            except UnicodeError:
                return True
        count += 1
        size += len(short) + len(value)
        if len(short) > 128 or len(value) > 256 or count > 90 or size > 4096:
            return True
    return False


def db_meta_rewrite(data):
    """The encryption filter's account or container PUT/POST of any
    metadata headers, as the backend then gets it.

    Input: ``PUT|POST /v1/<a>[/<c>]`` (`` off`` after it: the option
    off) then ``Name: value`` lines (the WSGI server folds "-" and "_",
    so ``X-Container-Meta-A_b`` is ``A-b``). A refusal (400) is right
    exactly when the option is on and Swift's proxy would refuse the
    plaintext. Otherwise: no ``X-<Level>-Meta-*`` outside the plain names
    carries a value (option on), each value sent is in an encrypted copy
    that decrypts to it under this account's or container's key (option
    off: stays plain, nothing encrypted), each removal is passed on and
    removes the encrypted copy - unless a value of its name is set too,
    which wins - and nothing else changes.
    """
    first, _nl, rest = _text(data).partition("\n")
    encrypt = not first.endswith(" off")
    request = _db_request(first if encrypt else first[:-len(" off")])
    if request is None:
        return
    method, path, level, account, container = request
    if method not in ("PUT", "POST"):
        return
    want = keyids.account_path(account) if container is None \
        else keyids.container_path(account, container)
    kind = level.kind.upper()
    meta_key, remove_key = "HTTP_X_%s_META_" % kind, "HTTP_X_REMOVE_%s_META_" % kind
    crypto_key = "HTTP_X_%s_SYSMETA_CRYPTO_META_" % kind
    sent = {}
    headers = _headers(rest.encode("latin-1"))
    if not all(name.isascii() for name, _value in headers):
        # HTTP names are tokens; the server's upper() and Swift's title()
        # of others change their bytes, so no check can be modelled on them
        return
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        if key.startswith("HTTP_X_%s_SYSMETA_" % kind):
            continue  # the gatekeeper, left of us, drops a client's sysmeta
        if key not in ("HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"):
            sent[key] = value
    reached = []

    def backend(environ, start_response):
        reached.append(dict(environ))
        start_response("204 No Content", [])
        return [b""]

    def head(environ, start_response):  # nothing stored: no accumulated set
        start_response("404 Not Found", [])
        return [b""]

    plain_names = level.plain_names(EXTRA_PLAIN)
    filt = DbMetaEncrypter(backend, _Log(), level, encrypt, plain_names, head)
    status, _headers_out, body = _call(_db_keymaster(filt), method, path, sent)
    refuse = _swift_refuses([("X-%s-Meta-%s" % (level.kind, k[len(meta_key):].replace("_", "-")),
                              v) for k, v in sent.items() if k.startswith(meta_key)],
                            level.user_prefix.lower()) and encrypt
    if status == 400:
        if not refuse:
            raise Invariant("refused %r: %r" % (sent, body))
        return
    if refuse:
        raise Invariant("passed what Swift refuses (%d)" % status)
    if status != 204 or len(reached) != 1:
        raise Invariant("status %d, %d backend requests" % (status, len(reached)))
    got = reached[0]
    key = derivation.derive_key(ROOT_SECRET, want)
    set_names = {k[len(meta_key):] for k, v in sent.items() if k.startswith(meta_key) and v}
    for env_key, value in got.items():
        if env_key.startswith(meta_key) and value:
            suffix = env_key[len(meta_key):]
            if encrypt and not _plain_name(suffix.replace("_", "-"), level):
                raise Invariant("%s sent in the clear" % env_key)
            if sent.get(env_key) != value:
                raise Invariant("plain %s changed" % env_key)
        elif env_key.startswith(crypto_key) and value:
            suffix = env_key[len(crypto_key):]
            if not encrypt or sent.get(meta_key + suffix) in (None, "") or _plain_name(
                    suffix.replace("_", "-"), level):
                raise Invariant("%s set from nothing the client sent" % env_key)
        elif env_key.startswith(("HTTP_", "swiftcrypt.")) and not env_key.startswith(
                (meta_key, crypto_key)) and sent.get(env_key, value) != value:
            raise Invariant("%s changed" % env_key)
    for env_key, value in sent.items():
        if env_key.startswith(remove_key):
            suffix = env_key[len(remove_key):]
            if got.get(env_key) != value:
                raise Invariant("removal %s not passed on" % env_key)
            if suffix not in set_names and got.get(crypto_key + suffix) != "":
                raise Invariant("removal %s keeps the encrypted copy" % env_key)
        if not env_key.startswith(meta_key):
            continue
        suffix = env_key[len(meta_key):]
        if not value:
            if got.get(env_key) != "" or got.get(crypto_key + suffix) != "":
                raise Invariant("removal by empty %s not passed on" % env_key)
            continue
        if not encrypt or _plain_name(suffix.replace("_", "-"), level):
            if got.get(env_key) != value:
                raise Invariant("plain %s not passed on" % env_key)
            continue
        stored = got.get(crypto_key + suffix)
        if got.get(env_key) != "" or not stored:
            raise Invariant("%s: plain %r, encrypted %r" % (env_key, got.get(env_key), stored))
        ciphertext, meta = cryptometa.extract(stored)
        if cryptometa.decrypt_value(ciphertext, key, meta) != value.encode("latin-1") \
                or not _names_this(meta.get("key_id"), want):
            raise Invariant("%s does not decrypt to what was sent" % env_key)


TARGETS = {
    "cryptometa_load": cryptometa_load,
    "cryptometa_extract": cryptometa_extract,
    "keyids_resolve": keyids_resolve,
    "byteranges_rewriter": byteranges_rewriter,
    "content_range": content_range,
    "decrypt_headers": decrypt_headers,
    "listing_hash": listing_hash,
    "listing_body": listing_body,
    "db_meta_decrypt": db_meta_decrypt,
    "db_key_id": db_key_id,
    "db_meta_rewrite": db_meta_rewrite,
}


def b64(data):
    return base64.b64encode(data).decode("ascii")
