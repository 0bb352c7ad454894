"""What ``swiftcrypt rekey`` decides, without any I/O.

From an object's raw (undecrypted) headers: which root secret ids its
encrypted parts were written under, and so whether it needs re-keying;
from its decrypted GET response: the headers of the PUT that rewrites it
under the active secret and keeps what makes it what it is; and which
parts of an object written before encryption was enabled are plaintext.
"""

from swiftcrypt.common import etags, names
from swiftcrypt.common.errors import CryptoError
from swiftcrypt.crypto import cryptometa, keyids, listing_etag

# lower case: the rekey plan compares lower-cased raw header names
BODY_META = names.BODY_META.lower()
ETAG = names.ETAG.lower()
LISTING_ETAG = listing_etag.HEADER_L
USER_META_SET = names.USER_META_SET.lower()
_USER_META_PREFIX = USER_META_SET + "-"
_CRYPTO_PREFIXES = names.CRYPTO_PREFIXES
_USER_META = "x-object-meta-"

# Parts of an object that carry their own key id.
BODY, LISTING, METADATA = "body", "listing etag", "metadata"

CURRENT, STALE, UNENCRYPTED = "current", "stale", "unencrypted"

# Headers of a GET response that are not the object's stored metadata (the
# object server, the proxy and its middlewares make them per response, or
# the rewrite sets its own), and so are not sent back. Everything else is:
# the object server keeps only the headers its allowed_headers name (Swift's
# default ones - Content-Disposition, Content-Encoding, X-Delete-At,
# X-Object-Manifest, X-Static-Large-Object... - and an operator's own) and
# returns exactly those, so a fixed list would drop a custom one.
_NOT_STORED = frozenset((
    "etag", "content-length", "transfer-encoding", "content-range", "connection",
    "keep-alive", "date", "last-modified", "accept-ranges", "x-timestamp",
    "x-put-timestamp", "x-trans-id", "x-openstack-request-id", "vary", "server",
    "content-location", "x-manifest-etag", "x-delete-after", "x-open-expired",
    "x-object-version-id", "www-authenticate",
))
_NOT_STORED_PREFIXES = ("x-backend-", "access-control-")


class RekeyError(Exception):
    """An object's crypto metadata cannot be read (the message names what)."""


def _lower(headers):
    items = headers.items() if hasattr(headers, "items") else headers
    return {name.lower(): value for name, value in items}


def _secret_of(key_id, what):
    try:
        return keyids.parse_key_id(key_id)[0]
    except CryptoError as err:
        raise RekeyError("%s: %s" % (what, err)) from None


def _meta_key_id(meta, what):
    if not isinstance(meta, dict):
        raise RekeyError("%s: crypto meta is not an object" % what)
    return meta.get("key_id")


def secret_ids(raw_headers):
    """``{part: secret id}`` of each encrypted part of an object.

    ``raw_headers`` are what the backend stores (a HEAD with decryption
    bypassed). Parts: BODY (body key, etag and etag MAC share it),
    LISTING (the container-listing etag, under the container key) and
    METADATA (user metadata). A secret id is None for the unnamed
    ``encryption_root_secret``. An empty dict: nothing is encrypted.
    Raises RekeyError for crypto metadata that does not parse.
    """
    headers = _lower(raw_headers)
    found = {}
    try:
        body_key_id = None
        if headers.get(BODY_META):
            meta = cryptometa.load(headers[BODY_META].strip())
            body_key_id = _meta_key_id(meta, BODY)
            if body_key_id is None:
                raise RekeyError("body: crypto meta has no key_id")
            found[BODY] = _secret_of(body_key_id, BODY)
        elif headers.get(ETAG):
            # an encrypted etag is read with the body's key
            raise RekeyError("etag: encrypted etag without body crypto meta")
        listing = headers.get(LISTING_ETAG, "")
        if listing_etag.is_encrypted(listing):
            key_id = _meta_key_id(listing_etag.stored_meta(listing), LISTING) or body_key_id
            if key_id is None:
                raise RekeyError("listing etag: no key_id")
            found[LISTING] = _secret_of(key_id, LISTING)
        if headers.get(USER_META_SET):
            key_id = _meta_key_id(cryptometa.load(headers[USER_META_SET].strip()), METADATA)
            if key_id is None:
                raise RekeyError("metadata: crypto meta has no key_id")
            found[METADATA] = _secret_of(key_id, METADATA)
        elif any(name.startswith(_USER_META_PREFIX) for name in headers):
            raise RekeyError("metadata: encrypted values without their crypto meta")
    except CryptoError as err:
        raise RekeyError("malformed crypto meta: %s" % err) from None
    return found


def meta_secret_ids(raw_headers, crypto_prefix):
    """``{header: secret id}`` of each encrypted account or container
    metadata value (headers named ``crypto_prefix``*, e.g. dbmeta.ACCOUNT's
    ``X-Account-Sysmeta-Crypto-Meta-``) in raw (undecrypted) headers; every
    value names its own key id. RekeyError for one that does not parse."""
    lprefix = crypto_prefix.lower()
    found = {}
    items = raw_headers.items() if hasattr(raw_headers, "items") else raw_headers
    for name, value in items:
        if not name.lower().startswith(lprefix) or not value:
            continue
        try:
            meta = cryptometa.extract(value)[1]
        except CryptoError as err:
            raise RekeyError("%s: malformed crypto meta: %s" % (name, err)) from None
        key_id = _meta_key_id(meta, name)
        if key_id is None:
            raise RekeyError("%s: crypto meta has no key_id" % name)
        found[name] = _secret_of(key_id, name)
    return found


def classify(raw_headers, active_id):
    """``(state, {part: secret id})`` for an object under active secret
    ``active_id``: CURRENT (every encrypted part is under it, or nothing
    is encrypted and there is nothing to encrypt), STALE (some part is
    under another secret: rewrite it) or UNENCRYPTED (written before
    encryption was enabled, with a part an encrypting write would
    encrypt: left alone unless the run encrypts plaintext, see
    plaintext_parts)."""
    ids = secret_ids(raw_headers)
    if not ids:
        # a 0-byte object with plain metadata, or a plain symlink, is
        # plaintext at rest too: "unencrypted 0" must mean none is left
        return (UNENCRYPTED if plaintext_parts(raw_headers) else CURRENT), ids
    if all(secret_id == active_id for secret_id in ids.values()):
        return CURRENT, ids
    return STALE, ids


_SAME_BY_CHANCE = 8  # bytes: equal by chance once in 2**64


def _body_length(lowered):
    length = lowered.get("content-length", "").strip()
    return int(length) if length.isdigit() else 0


def _has_body(lowered):
    """True when lower-cased headers ``lowered`` say the body is not empty."""
    return lowered.get("content-length", "0").strip() not in ("0", "")


def plaintext_parts(raw_headers):
    """The parts of an object (BODY, LISTING, METADATA, sorted) stored in
    plaintext that an encrypting write would encrypt, from its raw
    (undecrypted) headers: a non-empty body without body crypto meta,
    plain user metadata values, and a plain container-listing etag
    override that says more than "empty body" (a symlink's target, an
    SLO's etag: the encrypter encrypts those, not a bare empty etag).
    Empty for an object with nothing to encrypt."""
    headers = _lower(raw_headers)
    parts = set()
    if not headers.get(BODY_META) and _has_body(headers):
        parts.add(BODY)
    if any(name.startswith(_USER_META) and value for name, value in headers.items()):
        parts.add(METADATA)
    listing = headers.get(LISTING_ETAG, "").strip()
    if listing and not listing_etag.is_encrypted(listing) and listing != listing_etag.EMPTY_MD5:
        parts.add(LISTING)
    return sorted(parts)


def secret_name(secret_id):
    """A secret id for messages: ids are names from the config, never
    secrets; None (``encryption_root_secret``) reads ``(default)``."""
    return "(default)" if secret_id is None else secret_id


def describe_ids(ids):
    """``"A"`` or ``"body A, metadata B"`` for ``{part: secret id}``."""
    distinct = set(ids.values())
    if len(distinct) == 1:
        return secret_name(distinct.pop())
    return ", ".join("%s %s" % (part, secret_name(ids[part])) for part in sorted(ids))


def undecrypted(raw_headers, get_headers):
    """What in a GET response (``get_headers``) is still as stored in
    ``raw_headers`` although it was encrypted there (the pipeline has no
    decrypter: rewritten, the ciphertext would be served as plaintext),
    or None. Looks at what a decrypter, swiftcrypt's or Swift's, always
    changes: the Etag of a non-empty encrypted body, each encrypted user
    metadata value (a plain one beside it) and the listing etag; and what
    both always remove: the body's crypto meta."""
    raw, got = _lower(raw_headers), _lower(get_headers)
    if raw.get(BODY_META) and _has_body(raw):
        if got.get(BODY_META):
            return "body"
        etag = etags.unquote(raw.get("etag", ""))
        # The ciphertext of an n-byte body equals its plaintext with chance
        # 256**-n (a keystream of zero bytes), and then so do their MD5s:
        # 1 object in 256 of 1 byte. Below _SAME_BY_CHANCE bytes equal etags
        # prove nothing; the crypto meta above and the listing etag below
        # still catch a GET that was not decrypted.
        if etag and etag == etags.unquote(got.get("etag", "")) and \
                _body_length(raw) >= _SAME_BY_CHANCE:
            return "body"
    for name, value in got.items():
        if name.startswith(_USER_META_PREFIX) and value and \
                _USER_META + name[len(_USER_META_PREFIX):] not in got:
            return "metadata"
    if listing_etag.is_encrypted(got.get(LISTING_ETAG, "")):
        return "listing etag"
    return None


def _has_param(value, param):
    return any(p.strip().lower().startswith(param + "=") for p in value.split(";")[1:])


def rewrite_headers(get_headers, timestamp):
    """Headers of the PUT that rewrites an object, from its decrypted GET
    response (with large-object and symlink middlewares out of the way,
    so a manifest or link is read as stored).

    Keeps Content-Type, user metadata, X-Delete-At, the other stored
    headers (any allowed_headers), non-crypto (transient) sysmeta - among them SLO, symlink and the
    decrypted container-listing etag, which the encrypter encrypts
    again. Sends the plaintext Etag, so a body that changed in transit
    is refused, and ``X-Timestamp: timestamp``.
    """
    out = []
    lowered = {}
    for name, value in (get_headers.items() if hasattr(get_headers, "items") else get_headers):
        lname = name.lower()
        lowered[lname] = value
        if lname.startswith(_CRYPTO_PREFIXES + _NOT_STORED_PREFIXES) or lname in _NOT_STORED:
            continue
        out.append((name, value))
    slo_size = lowered.get("x-object-sysmeta-slo-size")
    if (lowered.get("x-static-large-object", "").lower() in ("true", "1", "yes", "on")
            and slo_size and slo_size.strip().isdigit()):
        # a proxy hides swift_bytes from GETs; the listing needs it back
        out = [(n, v if n.lower() != "content-type" or _has_param(v, "swift_bytes")
                else "%s;swift_bytes=%s" % (v, slo_size.strip())) for n, v in out]
    etag = lowered.get("etag")
    if etag:
        out.append(("Etag", etags.unquote(etag)))
    out.append(("X-Timestamp", timestamp))
    return out
