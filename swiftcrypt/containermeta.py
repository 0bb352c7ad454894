"""Encrypted container user metadata (opt-in): the pure part.

Swift leaves ``X-Container-Meta-*`` plain in the container DBs. With
``encrypt_container_metadata`` on, each value is encrypted under the
container key and stored as container sysmeta
``X-Container-Sysmeta-Crypto-Meta-<Name>: <b64>; swift_meta=<{"cipher",
"iv", "key_id"}>``: sysmeta because the container server keeps it, the
gatekeeper keeps clients from forging or reading it, and the backend's
metadata limits (which only count ``X-Container-Meta-*``) do not see the
longer ciphertext. Every value carries its own key id: container POSTs
merge metadata, so values written under different root secrets live side
by side (unlike an object's, which a POST replaces as a set).

Names that Swift's middlewares and proxy read from container info (which
they get from the backend or memcache, to the right of our filter) stay
plain: see DEFAULT_PLAIN_NAMES.
"""

from swiftcrypt import cryptometa
from swiftcrypt.constraints import CONTAINER_META_PREFIX, metadata_problem
from swiftcrypt.errors import CryptoError

CRYPTO_META_PREFIX = "X-Container-Sysmeta-Crypto-Meta-"
USER_META_PREFIX = "X-Container-Meta-"

# Read from container info by code to the right of, or beside, the
# proxy's info cache: encrypted they would be invisible to it.
DEFAULT_PLAIN_NAMES = (
    "temp-url-key", "temp-url-key-2",  # tempurl, formpost
    "quota-bytes", "quota-count",  # container_quotas
    "web-*",  # staticweb: index, error, listings, listings-css/-label, directory-type
    "access-control-*",  # CORS: allow-origin, expose-headers, max-age (proxy app)
)

_META_KEY = "HTTP_X_CONTAINER_META_"
_REMOVE_KEY = "HTTP_X_REMOVE_CONTAINER_META_"
_CRYPTO_KEY = "HTTP_X_CONTAINER_SYSMETA_CRYPTO_META_"
_CRYPTO_L = CRYPTO_META_PREFIX.lower()
_USER_L = USER_META_PREFIX.lower()


class PlainNames:
    """Container metadata names (after ``X-Container-Meta-``) kept plain.

    Patterns are case-insensitive; a trailing ``*`` matches any suffix.
    """

    def __init__(self, patterns=DEFAULT_PLAIN_NAMES):
        self.exact = frozenset(p.lower() for p in patterns if not p.endswith("*"))
        self.prefixes = tuple(p[:-1].lower() for p in patterns if p.endswith("*"))
        self.patterns = tuple(patterns)

    def __contains__(self, name):
        lname = name.lower()
        return lname in self.exact or lname.startswith(self.prefixes)

    @classmethod
    def from_option(cls, text):
        """DEFAULT_PLAIN_NAMES plus the comma- or space-separated ``text``
        (the built-in names cannot be taken away: Swift needs them)."""
        extra = [p.strip() for p in (text or "").replace(",", " ").split()]
        for pattern in extra:
            if not pattern.rstrip("*") or "*" in pattern[:-1]:
                raise ValueError("bad container metadata name pattern %r" % pattern)
        return cls(DEFAULT_PLAIN_NAMES + tuple(extra))


def _name(key, prefix_key):
    """Header-name form of an environ key's suffix: ``FOO_BAR`` -> ``foo-bar``."""
    return key[len(prefix_key):].lower().replace("_", "-")


def metadata_refusal(environ):
    """Why the request's container metadata breaks Swift's limits (checked
    on the plaintext, as the proxy would have), or None."""
    checked = [(USER_META_PREFIX + _name(key, _META_KEY), value)
               for key, value in environ.items() if key.startswith(_META_KEY)]
    return metadata_problem(checked, CONTAINER_META_PREFIX) if checked else None


def rewrite_request(environ, plain_names, encrypt=None):
    """Rewrite a container PUT/POST's metadata headers for the backend.

    ``encrypt(plaintext bytes) -> stored value``, or None when encryption
    is off. Each value of a name not in ``plain_names`` becomes its
    encrypted sysmeta copy, and the plain header is sent empty so that a
    plain value stored before the option was on goes. A removal (empty
    value or ``X-Remove-Container-Meta-<Name>``) of any name also removes
    the encrypted copy - with encryption off too, or an old encrypted
    value would show again. Returns the number of values encrypted.
    """
    encrypted = 0
    updates = {}
    for key, value in environ.items():
        if key.startswith(_META_KEY):
            suffix = key[len(_META_KEY):]
            if not value:
                updates[_CRYPTO_KEY + suffix] = ""
            elif encrypt is not None and _name(key, _META_KEY) not in plain_names:
                updates[_CRYPTO_KEY + suffix] = encrypt(value.encode("latin-1"))
                updates[key] = ""
                encrypted += 1
        elif key.startswith(_REMOVE_KEY):
            updates[_CRYPTO_KEY + key[len(_REMOVE_KEY):]] = ""
    environ.update(updates)
    return encrypted


def accumulated_refusal(stored, environ):
    """Why the container's metadata after this PUT/POST would break Swift's
    limits on the whole set (90 items, 4096 bytes), or None.

    ``stored`` is the container's current metadata as ``(header, plain
    value)`` pairs (a decrypted HEAD). The container server checks the
    accumulated set itself, but only counts ``X-Container-Meta-*``: values
    we keep as crypto sysmeta would escape its limits.
    """
    merged = {}
    for name, value in stored:
        lname = name.lower()
        if lname.startswith(_USER_L) and value:
            merged[lname[len(_USER_L):]] = value
    for key, value in environ.items():
        if key.startswith(_META_KEY):
            name = _name(key, _META_KEY)
            if value:
                merged[name] = value
            else:
                merged.pop(name, None)
        elif key.startswith(_REMOVE_KEY):
            merged.pop(_name(key, _REMOVE_KEY), None)
    return metadata_problem([(USER_META_PREFIX + name, value) for name, value in merged.items()],
                            CONTAINER_META_PREFIX)


class MetaDecryptionFailed(Exception):
    """A stored container metadata value did not decrypt."""

    def __init__(self, header, reason, key_id=None):
        self.header = header
        self.reason = reason
        self.key_id = key_id
        super().__init__("%s: %s" % (header, reason))


def has_encrypted(headers):
    """True when a backend response carries encrypted container metadata."""
    return any(name[:32].lower() == _CRYPTO_L for name, _value in headers)


def decrypt_response_headers(headers, container_key):
    """``(headers, exposed)``: the response headers with each encrypted
    value shown as its plain ``X-Container-Meta-<Name>`` and the crypto
    sysmeta gone; ``exposed`` lists the (lower-case) names added.

    ``container_key(key_id)`` gives the container key for a stored key
    id. A plain value beside an encrypted one of the same name wins: our
    writes always clear the plain copy, so it was written later by a proxy
    without this option (Swift's, or ours with the option off). Raises
    MetaDecryptionFailed for a value that does not decrypt to UTF-8.
    """
    plain = set()
    encrypted = []
    out = []
    for name, value in headers:
        lname = name.lower()
        if lname.startswith(_CRYPTO_L):
            if value:
                encrypted.append((name, value))
            continue
        if lname.startswith(_USER_L) and value:
            plain.add(lname[len(_USER_L):])
        out.append((name, value))
    exposed = []
    for name, value in encrypted:
        short = name[len(CRYPTO_META_PREFIX):]
        if short.lower() in plain:
            continue
        plaintext = decrypt_value(name, value, container_key)
        out.append((USER_META_PREFIX + short, plaintext))
        exposed.append((USER_META_PREFIX + short).lower())
    return out, exposed


def decrypt_value(header, value, container_key):
    """The WSGI-string plaintext of one stored value (see above)."""
    key_id = None
    try:
        ciphertext, meta = cryptometa.extract(value)
        if meta is None:
            raise CryptoError("value has no swift_meta")
        key_id = meta.get("key_id")
        plaintext = cryptometa.decrypt_value(ciphertext, container_key(key_id), meta)
        # Swift allows only UTF-8 here: anything else is a wrong key or damage
        plaintext.decode("utf-8")
    except (CryptoError, UnicodeDecodeError) as err:
        raise MetaDecryptionFailed(header, "%s: %s" % (err.__class__.__name__, err),
                                   key_id) from err
    return plaintext.decode("latin-1")


def expose(headers, names):
    """Add ``names`` to an Access-Control-Expose-Headers the proxy set (it
    lists the container metadata it saw, which was encrypted then); no
    header means the request was no CORS request the container allows."""
    return [(name, "%s, %s" % (value, ", ".join(names)) if value else ", ".join(names))
            if name.lower() == "access-control-expose-headers" else (name, value)
            for name, value in headers]
