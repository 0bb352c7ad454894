"""Per-account root secrets held in a key manager (Barbican).

Each account's root secret is a secret named ``swiftcrypt-account:<account>``
in the key manager. Keys derive from it exactly as from a configured root
secret; the secret's own id is the ``secret_id`` of every key id written
with it, so reads fetch the secret by id and never depend on the name.

Which secret an account writes with (its canonical secret) is decided by
``canonical`` from the listing alone, so every proxy decides alike: the
oldest secret of the newest generation, a generation being the secrets
created within ``GENERATION_WINDOW`` seconds of the newest one. Two proxies
that race to create an account's first secret therefore converge on the
older of the two, while a secret added deliberately later (a rotation)
takes over. A secret that lost a race is still listed and still read.

``AccountSecrets`` caches listings and secrets in process memory (bounded,
see ``secretcache``): a found secret for ``ttl`` seconds, renewed in the
background before it expires (one fetch per secret at a time), so a
secret deleted in the key manager stops being used within the ttl; a
secret the key manager says is gone for ``negative_ttl``; and, while the
key manager is unreachable, times out or answers 5xx, either answer keeps
serving up to ``stale_ttl`` seconds past its expiry. Its errors carry the
HTTP status a proxy should answer with. It counts cache hits, misses and
stale serves and times key-manager calls (``metrics``) and writes audit
lines (``audit``) for secrets created, rotated, shredded and first used.
"""

import logging
import os
import re
import time

from swiftcrypt import keymanager
from swiftcrypt.common import metrics
from swiftcrypt.common.audit import audit
from swiftcrypt.common.errors import UnknownSecretIdError
from swiftcrypt.common.ttlcache import TTLCache
from swiftcrypt.crypto.derivation import ROOT_SECRET_BYTES
from swiftcrypt.keymanager.base import check_root_secret, error_kind, sort_infos
from swiftcrypt.keymasters.secretcache import RefreshingCache

NAME_PREFIX = "swiftcrypt-account:"
GENERATION_WINDOW = 60.0  # seconds; creation races are far shorter, rotations far apart
SECRET_BYTES = ROOT_SECRET_BYTES
DEFAULT_TTL = 60.0
DEFAULT_STALE_TTL = 300.0  # the filter's default; AccountSecrets' own is 0
NO_SECRET_TTL = 5.0  # seconds an account found without a secret is not listed again
DEFAULT_CACHE_SIZE = 10000

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def secret_name(account):
    """The key-manager name of ``account``'s root secrets (real text)."""
    return NAME_PREFIX + account


def is_account_secret_id(secret_id):
    """Whether a key id's ``secret_id`` can name a per-account secret (a
    Barbican UUID); other ids (None, a config ``_<id>``) belong to another
    keymaster."""
    return isinstance(secret_id, str) and _UUID.match(secret_id) is not None


def _age_between(older, newer):
    delta = newer - older
    return delta.total_seconds() if hasattr(delta, "total_seconds") else float(delta)


def canonical(infos, window=GENERATION_WINDOW):
    """The SecretInfo an account writes with: the oldest one created within
    ``window`` seconds of the newest (None for no secrets)."""
    infos = sort_infos(infos)
    if not infos:
        return None
    newest = infos[-1].created
    if newest is None:  # no creation times at all: the smallest id
        return infos[0]
    for info in infos:
        if info.created is not None and _age_between(info.created, newest) <= window:
            return info
    return infos[-1]  # pragma: no cover - the newest always qualifies


class AccountKeyError(Exception):
    """An account's keys cannot be had. ``status`` is the HTTP status to
    answer with, ``public`` the text for the client (no ids), ``str()`` the
    one line for the log (account and secret id, never secret bytes)."""

    status = 500
    public = "Unable to retrieve encryption keys."

    def __init__(self, account, secret_id, reason):
        self.account = account
        self.secret_id = secret_id
        self.reason = reason
        self.message = " ".join(("account %s: %s%s" % (
            account, "" if secret_id is None else "secret %s " % secret_id, reason)).split())
        super().__init__(self.message)

    def __str__(self):
        return self.message


class SecretGone(AccountKeyError, UnknownSecretIdError):
    """The secret an item was written with no longer exists: the account
    (or that secret) was crypto-shredded. Permanent, hence 410."""

    status = 410
    public = ("The encryption key of this item no longer exists "
              "(its account's root secret was destroyed).")


class NoAccountSecret(AccountKeyError):
    """The account has no root secret and this proxy may not create one."""

    status = 403
    public = "This account has no encryption root secret and none may be created here."


class KeyManagerUnavailable(AccountKeyError):
    """The key manager did not answer (or answered 5xx): try again later."""

    status = 503
    public = "The key manager is unavailable; try again later."


class WrongAccountSecret(AccountKeyError, UnknownSecretIdError):
    """The id names a secret that is not this account's root secret."""


class SecretUnusable(AccountKeyError):
    """The key manager refused us, or the secret is not a usable root
    secret: an operator's problem, hence 500."""


def _error_for(err, account, secret_id):
    """The AccountKeyError for a KeyManagerError."""
    if isinstance(err, keymanager.SecretNotFound):
        return SecretGone(account, secret_id, "no longer exists in the key manager (%s)"
                          % err.reason)
    if err.retryable:
        return KeyManagerUnavailable(account, secret_id, err.reason)
    return SecretUnusable(account, secret_id, err.reason)


class _Gone:
    """A cached answer: the key manager said this secret does not exist."""

    __slots__ = ("account", "reason")

    def __init__(self, account, reason):
        self.account = account
        self.reason = reason


def _unavailable(err):
    return isinstance(err, KeyManagerUnavailable)


class AccountSecrets:
    """Per-account root secrets from ``manager`` (a KeyManager, or a
    callable returning one, so each worker process makes its own).

    ``ttl`` (found secrets and listings), ``negative_ttl`` (secrets found
    deleted; default ``ttl``), ``stale_ttl`` (serving past expiry while
    the key manager is away) and ``max_entries`` bound the caches;
    ``retries`` retryable key-manager failures per call (``sleep`` waits
    between them). ``metrics`` counts; ``logger`` takes the audit lines.
    """

    def __init__(self, manager, ttl=DEFAULT_TTL, max_entries=DEFAULT_CACHE_SIZE, retries=0,
                 window=GENERATION_WINDOW, clock=None, sleep=None, logger=None,
                 negative_ttl=None, stale_ttl=0.0, metrics_=None, spawn=None):
        self._manager = manager
        self.retries = retries
        self.window = window
        self.sleep = sleep or time.sleep
        clock = clock or time.monotonic
        self.logger = logger or logging.getLogger("swiftcrypt.account_keymaster")
        self.metrics = metrics_ or metrics.NONE
        negative_ttl = ttl if negative_ttl is None else negative_ttl
        extra = {} if spawn is None else {"spawn": spawn}
        # account -> (canonical id, all ids oldest first)
        self._accounts = RefreshingCache(
            max_entries, ttl, stale_ttl, _unavailable, clock=clock,
            on_event=lambda event: self.metrics.increment("cache.listing." + event), **extra)
        # secret id -> (account, bytes), or _Gone for ids found deleted
        self._secrets = RefreshingCache(
            max_entries, ttl, stale_ttl, _unavailable, clock=clock,
            on_event=lambda event: self.metrics.increment("cache.secret." + event),
            ttl_of=lambda value: negative_ttl if isinstance(value, _Gone) else ttl, **extra)
        # accounts listed without a secret: reads and refused writes of
        # them need no listing each (briefly: another proxy may create one)
        self._none = TTLCache(max_entries, min(ttl, NO_SECRET_TTL), clock)
        # secret ids this process has used (for the first_use audit line)
        self._used = TTLCache(max_entries, float("inf"), clock)

    @property
    def manager(self):
        if isinstance(self._manager, keymanager.KeyManager):
            return self._manager
        return self._manager()

    def _call(self, func, operation):
        """Call the key manager (with retries), timing each call and
        counting its errors by kind."""
        def timed():
            started = time.monotonic()
            try:
                return func()
            except keymanager.KeyManagerError as err:
                self.metrics.increment("keyservice.errors")
                self.metrics.increment("keyservice.errors." + error_kind(err))
                raise
            finally:
                self.metrics.timing("keyservice." + operation, time.monotonic() - started)

        return keymanager.call_with_retries(
            timed, retries=self.retries, sleep=self.sleep)

    def _list(self, account):
        name = secret_name(account)
        try:
            return self._call(lambda: self.manager.list_secrets(name), "list")
        except keymanager.KeyManagerError as err:
            raise _error_for(err, account, None) from err

    def _listing(self, infos):
        chosen = canonical(infos, self.window)
        return (chosen.key_id, tuple(info.key_id for info in sort_infos(infos)))

    def _relist(self, account):
        """A cached account's listing, fetched again (None: it has no
        secret left, so it is forgotten)."""
        before = self._accounts.peek(account)
        infos = self._list(account)
        if not infos:
            audit(self.logger, "shredded", account,
                  secret_id=",".join(before[1]) if before else None,
                  reason="the key manager lists no root secret for the account")
            return None
        result = self._listing(infos)
        if before is not None and before[0] != result[0]:
            audit(self.logger, "rotated", account, secret_id=result[0],
                  previous_secret_id=before[0])
        return result

    def active(self, account, create=False):
        """``(canonical secret id, all secret ids oldest first)`` of
        ``account``; if it has none, a first secret is made when ``create``
        is true (or, a callable, returns true when called then), else
        NoAccountSecret. An account found without a secret is not listed
        again for a few seconds unless a secret may be created."""
        cached = self._accounts.get(account, lambda: self._relist(account),
                                    load_missing=False)
        if cached is not None:
            return cached
        may_create = create if callable(create) else (lambda: create)
        infos = None
        if create is True or self._none.get(account) is None:
            infos = self._list(account)
        if not infos:
            if infos is not None:
                self._none.put(account, True)
            if not may_create():
                raise NoAccountSecret(account, None, "has no root secret named %r"
                                      % secret_name(account))
            if infos is None:  # known only from the short cache: make sure
                infos = self._list(account)
        if not infos:
            self._create(account)
            self._none.pop(account)
            # List again rather than trust our own: another proxy may have
            # created one at the same time, and all must pick the same.
            infos = self._list(account)
            if not infos:
                raise SecretUnusable(account, None, "a secret was created but the key "
                                     "manager does not list it")
        self._none.pop(account)
        result = self._listing(infos)
        self._accounts.put(account, result)
        return result

    def _create(self, account):
        payload = os.urandom(SECRET_BYTES)
        try:
            # One request, and no async order to poll: the bytes come
            # from the OS CSPRNG and go to the key manager over its TLS.
            secret_id = self._call(lambda: self.manager.store_secret(
                payload, name=secret_name(account)), "store")
        except keymanager.KeyManagerError as err:
            raise _error_for(err, account, None) from err
        self._secrets.put(secret_id, (account, payload))
        self._used.put(secret_id, True)
        audit(self.logger, "created", account, secret_id=secret_id)
        return secret_id

    def _fetch(self, account, secret_id):
        """``(owner account, bytes)`` of ``secret_id``, or _Gone."""
        try:
            secret = self._call(lambda: self.manager.get_secret(secret_id), "get")
        except keymanager.SecretNotFound as err:
            before = self._secrets.peek(secret_id)
            if isinstance(before, _Gone):
                return _Gone(before.account, err.reason)
            owner = before[0] if before else account
            audit(self.logger, "shredded", owner, secret_id=secret_id,
                  reason="the key manager says the secret does not exist")
            return _Gone(owner, err.reason)
        except keymanager.KeyManagerError as err:
            raise _error_for(err, account, secret_id) from err
        name = secret.name or ""
        if not name.startswith(NAME_PREFIX):
            raise WrongAccountSecret(account, secret_id, "is named %r, not %r" % (
                secret.name, secret_name(account)))
        try:
            payload = check_root_secret(secret)
        except keymanager.KeyManagerError as err:
            raise _error_for(err, account, secret_id) from err
        owner = name[len(NAME_PREFIX):]
        if self._used.get(secret_id) is None:
            self._used.put(secret_id, True)
            audit(self.logger, "first_use", owner, secret_id=secret_id)
        return (owner, payload)

    def secret(self, account, secret_id):
        """The root secret bytes of ``secret_id``, which must be one of
        ``account``'s secrets; an AccountKeyError otherwise."""
        cached = self._secrets.get(secret_id, lambda: self._fetch(account, secret_id))
        if isinstance(cached, _Gone):
            raise SecretGone(account, secret_id, "no longer exists in the key manager (%s)"
                             % cached.reason)
        owner, payload = cached
        if owner != account:
            raise WrongAccountSecret(account, secret_id, "is the root secret of account %s"
                                     % owner)
        return payload

