"""The key-manager interface and its errors.

A key manager holds secrets by id. It can fetch one (``get_secret``),
store given bytes (``store_secret``), have one generated
(``create_secret``) and delete one (``delete_secret``); optionally list
those with a given name (``list_secrets``). Every failure is a
``KeyManagerError`` whose message is one line naming the secret id and the
reason; the backend's own exception stays chained as ``__cause__``. No
message ever carries secret bytes.
"""

import abc
import time

from swiftcrypt.crypto.derivation import ROOT_SECRET_BYTES


class KeyManagerError(Exception):
    """A key-manager operation failed.

    ``key_id`` is the secret concerned (None for operations on no single
    secret); ``reason`` the one-line explanation; ``status`` the HTTP
    status where there was one. ``retryable`` errors (unreachable server,
    server error) may succeed if tried again.
    """

    retryable = False
    status = None

    def __init__(self, key_id, reason, status=None):
        self.key_id = key_id
        self.reason = reason
        if status is not None:
            self.status = status
        text = reason if key_id is None else "secret %s: %s" % (key_id, reason)
        super().__init__(" ".join(text.split()))  # always one line


class SecretNotFound(KeyManagerError):
    """No secret with that id (404)."""

    status = 404


class AccessDenied(KeyManagerError):
    """The credentials may not read or change that secret (403)."""

    status = 403


class AuthenticationFailed(KeyManagerError):
    """The credentials were refused (401)."""

    status = 401


class BadSecret(KeyManagerError):
    """The secret exists but is not usable as a root secret."""


class Unreachable(KeyManagerError):
    """The key manager (or its identity service) did not answer."""

    retryable = True


class ServerError(KeyManagerError):
    """The key manager answered with a server error (5xx)."""

    retryable = True


def error_kind(err):
    """A short name for the kind of a KeyManagerError (for metrics)."""
    if isinstance(err, SecretNotFound):
        return "not_found"
    if isinstance(err, (AccessDenied, AuthenticationFailed)):
        return "denied"
    if isinstance(err, Unreachable):
        return "unreachable"
    if isinstance(err, ServerError):
        return "server_error"
    return "other"


class Secret:
    """A secret fetched from a key manager.

    ``payload`` is bytes for binary secrets, text for ``text/plain`` ones,
    or None when the secret has no payload. ``secret_type`` (``symmetric``,
    ``opaque``, ...), ``algorithm`` and ``bit_length`` are as the key
    manager records them. The repr never shows the payload.
    """

    def __init__(self, key_id, payload, secret_type=None, algorithm=None,
                 bit_length=None, content_type=None, name=None):
        self.key_id = key_id
        self.payload = payload
        self.secret_type = secret_type
        self.algorithm = algorithm
        self.bit_length = bit_length
        self.content_type = content_type
        self.name = name

    def __repr__(self):
        return "<Secret %s type=%s algorithm=%s bits=%s>" % (
            self.key_id, self.secret_type, self.algorithm, self.bit_length)


class SecretInfo:
    """What a listing says of a secret: its id, name and creation time
    (any value that orders by time, e.g. a datetime; None if unknown)."""

    __slots__ = ("key_id", "name", "created")

    def __init__(self, key_id, name, created=None):
        self.key_id = key_id
        self.name = name
        self.created = created

    def __repr__(self):
        return "<SecretInfo %s name=%r created=%s>" % (self.key_id, self.name, self.created)


def sort_infos(infos):
    """SecretInfos oldest first; equal creation times (or unknown ones,
    which come first) ordered by id, so every caller agrees."""
    return sorted(infos, key=lambda info: (info.created is not None, info.created or 0,
                                           info.key_id))


MIN_ROOT_SECRET_BITS = 8 * ROOT_SECRET_BYTES


def check_root_secret(secret, min_bits=MIN_ROOT_SECRET_BITS):
    """Return the raw bytes of ``secret`` if it is usable as a root secret:
    symmetric, AES, at least ``min_bits`` bits, stored as raw bytes.
    Otherwise raise BadSecret saying what is wrong (never the bytes)."""
    key_id = secret.key_id
    problems = []
    if (secret.secret_type or "").lower() != "symmetric":
        problems.append("its type is %s, not symmetric" % (secret.secret_type or "unset"))
    if (secret.algorithm or "").lower() != "aes":
        problems.append("its algorithm is %s, not AES" % (secret.algorithm or "unset"))
    try:
        bits = int(secret.bit_length) if secret.bit_length is not None else None
    except (TypeError, ValueError):
        bits = None
    if bits is not None and bits < min_bits:
        problems.append("its bit length is %d, at least %d are required" % (bits, min_bits))
    payload = secret.payload
    if payload is None:
        problems.append("it has no payload")
    elif not isinstance(payload, bytes):
        problems.append(
            "its payload is text (%s), not raw bytes"
            % (secret.content_type or "text/plain"))
    elif len(payload) * 8 < min_bits:
        problems.append(
            "its payload is %d bits long, at least %d are required"
            % (len(payload) * 8, min_bits))
    if problems:
        raise BadSecret(
            key_id,
            "not usable as a root secret (an AES key of at least %d bits stored as "
            "raw bytes is required): %s" % (min_bits, "; ".join(problems)))
    return payload


class KeyManager(abc.ABC):
    """A store of secrets, by id."""

    #: where it is, for messages (e.g. the Barbican endpoint)
    description = "key manager"

    @abc.abstractmethod
    def get_secret(self, key_id):
        """Return the ``Secret`` with id ``key_id``."""

    @abc.abstractmethod
    def store_secret(self, payload, name=None, algorithm="aes", secret_type="symmetric"):
        """Store the bytes ``payload``; return the new secret's id."""

    @abc.abstractmethod
    def create_secret(self, name=None, algorithm="aes", bit_length=256):
        """Have the key manager generate a key; return its id."""

    @abc.abstractmethod
    def delete_secret(self, key_id):
        """Delete the secret ``key_id``."""

    def list_secrets(self, name):
        """Return a ``SecretInfo`` for every secret named exactly ``name``,
        oldest first (optional for backends: per-account secrets need it)."""
        raise KeyManagerError(None, "%s cannot list secrets by name" % self.description)

    def close(self):  # noqa: B027 - optional for backends
        """Release connections (optional)."""
        return None


#: The retry policy for a key manager that failed retryably (unreachable,
#: 5xx): wait BACKOFF seconds, doubling each time, at most MAX_BACKOFF.
BACKOFF = 0.5
MAX_BACKOFF = 5.0


def call_with_retries(func, retries=0, backoff=BACKOFF, max_backoff=MAX_BACKOFF,
                      sleep=time.sleep):
    """Call ``func()``; on a retryable KeyManagerError try again up to
    ``retries`` more times, waiting ``backoff`` seconds doubling each time
    (at most ``max_backoff``). Other errors, and the last retryable one,
    propagate."""
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return func()
        except KeyManagerError as err:
            if not err.retryable or attempt >= retries:
                if attempt:
                    err.attempts = attempt + 1
                raise
        sleep(min(delay, max_backoff))
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
