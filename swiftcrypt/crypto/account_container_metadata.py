"""Encrypted account and container user metadata (opt-in): the pure part.

Swift leaves ``X-Account-Meta-*`` and ``X-Container-Meta-*`` plain in the
account and container DBs. With ``encrypt_account_metadata`` or
``encrypt_container_metadata`` on, each value is encrypted under the
account or container key and stored as that level's sysmeta
``X-<Level>-Sysmeta-Crypto-Meta-<Name>: <b64>; swift_meta=<{"cipher",
"iv", "key_id"}>``: sysmeta because the account and container servers keep
it, the gatekeeper keeps clients from forging or reading it, and the
backend's metadata limits (which only count ``X-<Level>-Meta-*``) do not
see the longer ciphertext. Every value carries its own key id: account and
container POSTs merge metadata, so values written under different root
secrets live side by side (unlike an object's, which a POST replaces as a
set).

Names that Swift's middlewares and proxy read from account or container
info (which they get from the backend or memcache, to the right of our
filter) stay plain: see Level.default_plain.

One ``Level`` instance per level (ACCOUNT, CONTAINER) holds the prefixes;
the logic is shared.
"""

from swiftcrypt.common import names
from swiftcrypt.common.environ import header_key
from swiftcrypt.common.errors import CryptoError, DecryptionFailed
from swiftcrypt.crypto import cryptometa
from swiftcrypt.middleware.constraints import metadata_problem, set_problem

# Read from container info by code to the right of, or beside, the
# proxy's info cache: encrypted they would be invisible to it.
CONTAINER_PLAIN_NAMES = (
    "temp-url-key", "temp-url-key-2",  # tempurl, formpost
    "quota-bytes", "quota-count",  # container_quotas
    "web-*",  # staticweb: index, error, listings, listings-css/-label, directory-type
    "access-control-*",  # CORS: allow-origin, expose-headers, max-age (proxy app)
)

# Read from account info (get_account_info's "meta") in Swift 2.38.
ACCOUNT_PLAIN_NAMES = (
    "temp-url-key", "temp-url-key-2",  # tempurl, formpost: account-scoped keys
    "quota-bytes",  # account_quotas: the legacy quota, when no sysmeta quota is set
)


class PlainNames:
    """Metadata names (after ``X-<Level>-Meta-``) kept plain.

    Patterns are case-insensitive; a trailing ``*`` matches any suffix.
    """

    def __init__(self, patterns=CONTAINER_PLAIN_NAMES):
        # WSGI servers turn "-" and "_" in header names alike into "_" of
        # the environ key, read back as "-": a "_" in a pattern would never match
        folded = [p.lower().replace("_", "-") for p in patterns]
        self.exact = frozenset(p for p in folded if not p.endswith("*"))
        self.prefixes = tuple(p[:-1] for p in folded if p.endswith("*"))
        self.patterns = tuple(patterns)

    def __contains__(self, name):
        lname = name.lower()
        return lname in self.exact or lname.startswith(self.prefixes)

    @classmethod
    def from_option(cls, text, defaults=CONTAINER_PLAIN_NAMES):
        """``defaults`` plus the comma- or space-separated ``text`` (the
        built-in names cannot be taken away: Swift needs them)."""
        extra = [p.strip() for p in (text or "").replace(",", " ").split()]
        for pattern in extra:
            if not pattern.rstrip("*") or "*" in pattern[:-1]:
                raise ValueError("bad metadata name pattern %r" % pattern)
        return cls(tuple(defaults) + tuple(extra))


class Level:
    """The metadata of one DB level, ``kind`` "account" or "container"."""

    def __init__(self, kind, default_plain):
        title = kind.title()
        self.kind = kind
        self.default_plain = tuple(default_plain)
        self.user_prefix = "X-%s-Meta-" % title
        self.crypto_prefix = names.db_meta_prefix(title)
        self.limits_prefix = self.user_prefix.lower()  # what metadata_problem counts
        self.meta_key = header_key(self.user_prefix)  # HTTP_X_<KIND>_META_
        self.remove_key = header_key("X-Remove-%s-Meta-" % title)
        self._crypto_key = header_key(self.crypto_prefix)
        self._crypto_l = self.crypto_prefix.lower()
        self._user_l = self.user_prefix.lower()

    def plain_names(self, text=None):
        """PlainNames of this level's defaults plus the option ``text``."""
        return PlainNames.from_option(text, self.default_plain)

    def _name(self, key, prefix_key):
        """Header-name form of an environ key's suffix: ``FOO_BAR`` -> ``foo-bar``."""
        return key[len(prefix_key):].lower().replace("_", "-")

    def metadata_refusal(self, environ):
        """Why the request's metadata breaks Swift's limits (checked on the
        plaintext, as the proxy would have), or None."""
        checked = [(self.user_prefix + self._name(key, self.meta_key), value)
                   for key, value in environ.items() if key.startswith(self.meta_key)]
        return metadata_problem(checked, self.limits_prefix) if checked else None

    def sets_values(self, environ):
        """True when the request sets (not only removes) some metadata."""
        return any(key.startswith(self.meta_key) and value for key, value in environ.items())

    def rewrite_request(self, environ, plain_names, encrypt=None):
        """Rewrite a PUT/POST's metadata headers for the backend.

        ``encrypt(plaintext bytes) -> stored value``, or None when
        encryption is off. Each value of a name not in ``plain_names``
        becomes its encrypted sysmeta copy, and the plain header is sent
        empty so that a plain value stored before the option was on goes.
        A removal (empty value or ``X-Remove-<Level>-Meta-<Name>``) of any
        name also removes the encrypted copy - with encryption off too, or
        an old encrypted value would show again. A value set beside an
        ``X-Remove-*`` of its own name wins, whatever the header order, as
        Swift's proxy applies the removals first. Returns the number of
        values encrypted.
        """
        meta_key, remove_key, crypto_key = self.meta_key, self.remove_key, self._crypto_key
        encrypted = 0
        removals = {}
        updates = {}
        for key, value in environ.items():
            if key.startswith(meta_key):
                suffix = key[len(meta_key):]
                if not value:
                    updates[crypto_key + suffix] = ""
                elif encrypt is not None and self._name(key, meta_key) not in plain_names:
                    updates[crypto_key + suffix] = encrypt(value.encode("latin-1"))
                    updates[key] = ""
                    encrypted += 1
            elif key.startswith(remove_key):
                removals[crypto_key + key[len(remove_key):]] = ""
        removals.update(updates)
        environ.update(removals)
        return encrypted

    def accumulated_refusal(self, stored, environ):
        """Why the metadata after this PUT/POST would break Swift's limits
        on the whole set (90 items, 4096 bytes), or None.

        ``stored`` is the current metadata as ``(header, plain value)``
        pairs (a decrypted HEAD). The account and container servers check
        the accumulated set themselves, but only count ``X-<Level>-Meta-*``:
        values we keep as crypto sysmeta would escape their limits. As they
        do, this counts characters of the real text (their
        validate_metadata sees wsgi_to_str), not the UTF-8 bytes the
        proxy's per-request check counts: each item passed that check.
        """
        merged = {}
        for name, value in stored:
            lname = name.lower()
            if lname.startswith(self._user_l) and value:
                merged[lname[len(self._user_l):]] = value
        for key in environ:  # removals first, as Swift's proxy applies them
            if key.startswith(self.remove_key):
                merged.pop(self._name(key, self.remove_key), None)
        for key, value in environ.items():
            if key.startswith(self.meta_key):
                name = self._name(key, self.meta_key)
                if value:
                    merged[name] = value
                else:
                    merged.pop(name, None)
        return set_problem(merged)

    def has_encrypted(self, headers):
        """True when a backend response carries encrypted metadata."""
        size = len(self._crypto_l)
        return any(name[:size].lower() == self._crypto_l for name, _value in headers)

    def decrypt_response_headers(self, headers, key_for):
        """``(headers, exposed)``: the response headers with each encrypted
        value shown as its plain ``X-<Level>-Meta-<Name>`` and the crypto
        sysmeta gone; ``exposed`` lists the (lower-case) names added.

        ``key_for(key_id)`` gives this level's key for a stored key id. A
        plain value beside an encrypted one of the same name wins: our
        writes always clear the plain copy, so it was written later by a
        proxy without this option (Swift's, or ours with the option off).
        Raises DecryptionFailed for a value that does not decrypt to
        UTF-8.
        """
        plain = set()
        encrypted = []
        out = []
        for name, value in headers:
            lname = name.lower()
            if lname.startswith(self._crypto_l):
                if value:
                    encrypted.append((name, value))
                continue
            if lname.startswith(self._user_l) and value:
                plain.add(lname[len(self._user_l):])
            out.append((name, value))
        exposed = []
        for name, value in encrypted:
            short = name[len(self.crypto_prefix):]
            if short.lower() in plain:
                continue
            plaintext = decrypt_value(name, value, key_for)
            out.append((self.user_prefix + short, plaintext))
            exposed.append((self.user_prefix + short).lower())
        return out, exposed


ACCOUNT = Level("account", ACCOUNT_PLAIN_NAMES)
CONTAINER = Level("container", CONTAINER_PLAIN_NAMES)


def decrypt_value(header, value, key_for):
    """The WSGI-string plaintext of one stored value (see above)."""
    key_id = None
    try:
        ciphertext, meta = cryptometa.extract(value)
        if meta is None:
            raise CryptoError("value has no swift_meta")
        key_id = meta.get("key_id")
        plaintext = cryptometa.decrypt_value(ciphertext, key_for(key_id), meta)
        # Swift allows only UTF-8 here: anything else is a wrong key or damage
        plaintext.decode("utf-8")
    except (CryptoError, UnicodeDecodeError) as err:
        raise DecryptionFailed(header, "%s: %s" % (err.__class__.__name__, err),
                                   key_id) from err
    return plaintext.decode("latin-1")

