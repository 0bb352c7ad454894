"""The account_keymaster filter: a root secret per account, in Barbican.

Each account's keys derive from its own root secret, a Barbican secret
named ``swiftcrypt-account:<account>`` in the configured project (see
``accountsecrets``); deleting it crypto-shreds the account. Keys, key ids
and the keys callback are as with the ``keymaster`` filter, the key ids'
``secret_id`` being the Barbican secret id; on account requests the
callback gives the account key (encrypted account metadata) from the same
secret, so a shred makes that unreadable too (410 on the account's
GET/HEAD), and an account or container PUT/POST that encrypts a value may
create the account's secret as an object write does.

Options: the Barbican connection options of kms_keymaster (``auth_type``,
``barbican_endpoint``, ``project_id``, Keystone credentials, ``timeout``,
``retries``...), ``keymaster_config_path`` (section ``[account_keymaster]``),
``meta_version_to_write``, and:

- ``create_account_secrets`` (default true): the first object write to an
  account without a secret creates one; false answers such writes 403.
  Either way, a write the pipeline's ``swift.authorize`` (tempauth,
  keystoneauth) denies creates nothing and gets that denial.
- ``cache_ttl`` (seconds, default 60): how long a listing or secret is
  used before it is fetched again (renewed in the background from 3/4 of
  it on, one fetch per secret at a time); a shred takes effect within it
  while Barbican answers.
- ``cache_negative_ttl`` (seconds, default ``cache_ttl``): how long a
  secret Barbican said is gone (shredded) is answered 410 without asking.
- ``cache_stale_ttl`` (seconds, default 300): how long past its expiry a
  cached answer keeps serving while Barbican is unreachable, times out or
  answers 5xx (never once Barbican says the secret is gone); 0: 503 as
  soon as it expires.
- ``cache_size`` (default 10000): entries per cache (accounts, secrets).
- Swift's statsd options (``log_statsd_host``, ``log_statsd_port``,
  ``log_statsd_metric_prefix``, ...): metrics (doc/operations.md).

Answers (the encryption filter alone would say 500 for all of them): an
item whose secret is gone (shredded) 410; the key manager unreachable 503
(object requests and container listings); an object write to an account
without a secret when creation is off 403; anything else keeps the 500.
Missing or unavailable secrets are answered only for writes that
``swift.authorize`` allows (called here as Swift's proxy would call it,
with the container's write ACL): an anonymous write gets 401, never a
new secret. An internal client (``swiftcrypt rekey``) that sets
``swiftcrypt.keys_for_write`` in the environ gets the keys a write would
get (the account's secret made if it has none) on any request.
A keys callback already in the environ (a keymaster earlier in the
pipeline) is kept as the fallback for key ids that are not Barbican ids:
objects written before the switch keep reading.
"""

import os

from swiftcrypt.crypto import derivation

from swiftcrypt.crypto import keyids

from swiftcrypt.common import logs

from swiftcrypt.common import metrics

from swiftcrypt.common import names
from swiftcrypt.common import options
from swiftcrypt.keymasters.account_secrets import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_STALE_TTL,
    DEFAULT_TTL,
    AccountKeyError,
    AccountSecrets,
    KeyManagerUnavailable,
    NoAccountSecret,
    SecretGone,
    WrongAccountSecret,
    is_account_secret_id,
)
from swiftcrypt.common.audit import audit
from swiftcrypt.common.errors import ConfigError, UnknownSecretIdError
from swiftcrypt.common.httperrors import respond
from swiftcrypt.keymanager import barbican
from swiftcrypt.keymasters.config_keymaster import CALLBACK, meta_version
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.common.wsgicontext import call_app

SECTION = "account_keymaster"
OVERRIDE = names.CRYPTO_OVERRIDE
_KEY_METHODS = ("PUT", "POST", "GET", "HEAD")
_WRITES = ("PUT", "POST")
#: Environ flag: the keys callback gives what a write would get (``rekey``).
WRITE_KEYS = names.KEYS_FOR_WRITE

#: Options that, with keymaster_config_path set, belong only in that file.
_FILE_ONLY = frozenset(barbican.IDENTITY_OPTIONS + (
    "auth_endpoint", "barbican_endpoint", "barbican_region_name", "api_class",
    "reauthenticate",
))


def is_own_option(name):
    return name in _FILE_ONLY


def account_conf(conf):
    """Resolve ``keymaster_config_path`` (section ``[account_keymaster]``)."""
    return options.load_with_config_path(conf, SECTION, is_own_option)


class Settings:
    """The filter's validated options (connection options excepted)."""

    def __init__(self, create=True, ttl=DEFAULT_TTL, cache_size=DEFAULT_CACHE_SIZE,
                 version=keyids.DEFAULT_VERSION, retries=barbican.DEFAULT_RETRIES,
                 negative_ttl=None, stale_ttl=DEFAULT_STALE_TTL):
        self.create = create
        self.ttl = ttl
        self.negative_ttl = ttl if negative_ttl is None else negative_ttl
        self.stale_ttl = stale_ttl
        self.cache_size = cache_size
        self.version = version
        self.retries = retries

    @classmethod
    def from_conf(cls, conf):
        """Read and check the options; ConfigError (one line) if wrong."""
        for option in conf:
            if option == "key_id" or option.startswith("key_id_") or \
                    option.startswith("encryption_root_secret"):
                raise ConfigError(option, "is not an account_keymaster option (its root "
                                  "secrets are per account, in Barbican); to keep reading "
                                  "objects written under it, put that keymaster before "
                                  "account_keymaster in the pipeline")
            if option == "active_root_secret_id":
                raise ConfigError(option, "is not an account_keymaster option (each "
                                  "account writes with its own canonical secret)")
        ttl = options.as_number(conf, "cache_ttl", DEFAULT_TTL, minimum=0)
        return cls(
            create=options.as_bool(conf, "create_account_secrets", True),
            ttl=ttl,
            negative_ttl=options.as_number(conf, "cache_negative_ttl", ttl, minimum=0),
            stale_ttl=options.as_number(conf, "cache_stale_ttl", DEFAULT_STALE_TTL, minimum=0),
            cache_size=options.as_number(conf, "cache_size", DEFAULT_CACHE_SIZE, minimum=1,
                                         kind=int),
            version=meta_version(conf),
            retries=options.as_number(conf, "retries", barbican.DEFAULT_RETRIES, minimum=0,
                                      kind=int))


class PerProcess:
    """A key manager made on first use in each process: a connection pool
    must not be shared by the workers a pre-forking server makes."""

    def __init__(self, factory):
        self.factory = factory
        self._pid = None
        self._manager = None

    def __call__(self):
        if self._pid != os.getpid():
            self._manager = self.factory()
            self._pid = os.getpid()
        return self._manager


class AccountKeyMaster:
    """WSGI filter providing the keys callback with per-account secrets."""

    log_route = SECTION

    def __init__(self, app, secrets, settings, logger=None, metrics_=None):
        self.app = app
        self.secrets = secrets
        self.settings = settings
        self.logger = logger or logs.get_logger({}, self.log_route)
        self.metrics = metrics_ or secrets.metrics

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        parts = request_parts(environ) if method in _KEY_METHODS else None
        if parts is None:
            return self.app(environ, start_response)
        _version, account, container, obj = parts
        write = method in _WRITES and obj is not None
        # an account or container PUT/POST may encrypt its metadata
        # (encrypt_account_metadata, encrypt_container_metadata): keys are
        # then fetched (and a secret made) only when a value needs them
        meta_write = method in _WRITES and obj is None
        wants_write_keys = write or meta_write or bool(environ.get(WRITE_KEYS))
        # Swift's proxy authorizes account and container writes with no ACL
        authorization = Authorization(self.app, environ, with_acl=not meta_write)
        # a secret is made only for a write that will be allowed
        create = authorization.allowed if wants_write_keys and self.settings.create else False
        keys = AccountRequestKeys(self, account, container, obj, environ.get(CALLBACK),
                                  write=wants_write_keys, create=create)
        environ[CALLBACK] = keys.fetch
        if options.is_true(environ.get(OVERRIDE)):
            return self.app(environ, start_response)  # nothing is encrypted or decrypted
        if write:
            try:
                keys.fetch()  # here, so failures get their own status
            except AccountKeyError as err:
                denial = authorization.denial()
                if denial is not None:  # what the app would answer: say it first
                    return denial(environ, start_response)
                return self._refuse(environ, start_response, err)
            return self.app(environ, start_response)
        resp = call_app(self.app, environ)
        err = keys.failure
        if err is not None and (resp.status_int >= 500 or isinstance(err, KeyManagerUnavailable)):
            # The decrypter answered 500 (or listed "<unknown>" etags) for
            # what is in fact a shred or an outage: say which.
            resp.close()
            denial = authorization.denial() if meta_write else None
            if denial is not None:  # the account or container write was not allowed anyway
                return denial(environ, start_response)
            return self._refuse(environ, start_response, err)
        return resp.send(start_response)

    def _refuse(self, environ, start_response, err):
        log = self.logger.warning if err.status in (403, 410) else self.logger.error
        log("%s %s: %s (answered %d)", environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"), err, err.status)
        reason = _REFUSAL_REASONS.get(type(err), "key_error")
        self.metrics.increment("failures." + reason)
        audit(self.logger, "refused", err.account, secret_id=err.secret_id,
              key_id=environ.get("PATH_INFO"), status=err.status,
              method=environ.get("REQUEST_METHOD"), why=reason, reason=err.reason)
        return respond(start_response, err.status, err.public)


#: metric and audit names of the refusals
_REFUSAL_REASONS = {
    SecretGone: "shredded",
    KeyManagerUnavailable: "key_service_unavailable",
    NoAccountSecret: "no_account_secret",
}


def _request_class():
    try:
        from swift.common.swob import Request
    except ImportError:
        from webob import Request
    return Request


def _write_acl(app, environ):
    """The container's write ACL as Swift's proxy sets ``req.acl`` for an
    object write (from its container info, cached in the environ), or
    None outside Swift or if it cannot be had."""
    try:
        from swift.proxy.controllers.base import get_container_info
    except ImportError:
        return None
    try:
        return get_container_info(environ, app, swift_source="AKM").get("write_acl")
    except Exception:  # a denial without the ACL is still a denial
        return None


class Authorization:
    """``swift.authorize`` for one request, called at most once, as Swift's
    proxy calls it for an object write (after every middleware): with a
    swob Request (webob outside Swift) whose ``acl`` is the write ACL."""

    def __init__(self, app, environ, with_acl=True):
        self.app = app
        self.environ = environ
        self.with_acl = with_acl
        self._done = False
        self._denial = None

    def denial(self):
        """The authorize callback's denial response, or None (allowed, or
        no authorize callback in the pipeline)."""
        if not self._done:
            self._done = True
            authorize = self.environ.get("swift.authorize")
            if authorize is not None:
                req = _request_class()(self.environ)
                req.acl = _write_acl(self.app, self.environ) if self.with_acl else None
                self._denial = authorize(req)
        return self._denial

    def allowed(self):
        return self.denial() is None


class AccountRequestKeys:
    """The keys callback for one request. The account's canonical secret
    is looked up only when new keys are asked for (``key_id=None``), so
    reading a stored item needs only the secret its key id names."""

    def __init__(self, keymaster, account, container, obj, fallback=None, write=False,
                 create=False):
        self.secrets = keymaster.secrets
        self.version = keymaster.settings.version
        self.account = account
        self.container = container
        self.obj = obj
        self.fallback = fallback
        self.write = write
        self.create = create
        self.failure = None  # the first AccountKeyError, for the filter's answer
        self._failed = {}  # secret id (or None: the listing) -> its AccountKeyError
        self._active = None
        self._cache = {}

    def active(self):
        """``(canonical secret id, all ids)`` of the account, once per request."""
        if self._active is None:
            self._active = self._guard(None, lambda: self.secrets.active(
                self.account, create=self.create))
        return self._active

    def _guard(self, secret_id, func):
        if secret_id in self._failed:
            raise self._failed[secret_id]
        try:
            return func()
        except AccountKeyError as err:
            self._failed[secret_id] = err
            if self.failure is None:
                self.failure = err
            raise

    def _paths(self, version):
        return keyids.request_paths(self.account, self.container, self.obj, version)

    def fetch(self, key_id=None, *args, **kwargs):
        """Return ``{"container", "object", "id", "all_ids"}`` for this
        request (``{"account", "id", "all_ids"}`` for an account request),
        or for the stored ``key_id`` when one is given."""
        if self.container is None:
            return self._fetch_account(key_id, *args, **kwargs)
        if key_id is None:
            try:
                secret_id, all_ids = self.active()
            except NoAccountSecret as err:
                if self.write:
                    raise
                if self.failure is err:  # not a failure on a read
                    self.failure = None
                return self._no_secret_yet(*args, **kwargs)
            version = self.version
            cpath, opath = self._paths(version)
        else:
            secret_id, version, cpath, opath = keyids.resolve_key_paths(
                key_id, self.account, self.container, self.obj)
            if not is_account_secret_id(secret_id):
                if self.fallback is not None:
                    return self.fallback(key_id, *args, **kwargs)
                raise UnknownSecretIdError(secret_id)
            all_ids = (secret_id,)
        cache_key = (key_id is None, secret_id, version, cpath, opath)
        keys = self._cache.get(cache_key)
        if keys is None:
            try:
                root = self._guard(secret_id, lambda: self.secrets.secret(
                    self.account, secret_id))
            except WrongAccountSecret:
                if key_id is not None and self.fallback is not None:
                    return self.fallback(key_id, *args, **kwargs)
                raise
            keys = self._cache[cache_key] = self._derive(root, secret_id, version, cpath,
                                                        opath, all_ids)
        return dict(keys)

    def _fetch_account(self, key_id, *args, **kwargs):
        """The account key, from the account's own secret: shredding the
        account makes its encrypted account metadata unreadable too."""
        if key_id is None:
            secret_id, all_ids = self.active()  # NoAccountSecret: nothing to write with
            version, path = self.version, keyids.account_path(self.account)
        else:
            secret_id, version, path = keyids.resolve_account_path(key_id, self.account)
            if not is_account_secret_id(secret_id):
                if self.fallback is not None:
                    return self.fallback(key_id, *args, **kwargs)
                raise UnknownSecretIdError(secret_id)
            all_ids = (secret_id,)
        try:
            root = self._guard(secret_id, lambda: self.secrets.secret(self.account, secret_id))
        except WrongAccountSecret:
            if key_id is not None and self.fallback is not None:
                return self.fallback(key_id, *args, **kwargs)
            raise
        ordered = [secret_id] + [sid for sid in all_ids if sid != secret_id]
        return derivation.account_keys(root, path, secret_id, version, ordered)

    def _no_secret_yet(self, *args, **kwargs):
        """New keys on a read (to mask conditional etags) for an account
        with no secret: those of the keymaster before us, else throwaway
        keys that match no MAC (nothing can be stored under this account's
        secrets), with no "id", so nothing can ever be written with them."""
        if self.fallback is not None:
            return self.fallback(None, *args, **kwargs)
        keys = {"all_ids": []}
        if self.container is not None:
            keys["container"] = os.urandom(32)
            if self.obj is not None:
                keys["object"] = os.urandom(32)
        return keys

    def _derive(self, root, secret_id, version, cpath, opath, all_ids):
        # the canonical first, then the account's other secrets (an etag
        # MAC may have been made under any of them)
        ordered = [secret_id] + [sid for sid in all_ids if sid != secret_id]
        keys = derivation.request_keys(root, secret_id, version, cpath, opath, ordered)
        if keys and self.fallback is not None:
            keys["all_ids"].extend(self.fallback(key_id=None).get("all_ids", []))
        return keys


def make_secrets(conf, logger=None, manager=None, metrics_=None):
    """AccountSecrets for the resolved options ``conf``."""
    settings = Settings.from_conf(conf)
    connection = barbican.BarbicanOptions.from_conf(conf)  # ConfigError now, not per request
    if manager is None:
        manager = PerProcess(lambda: barbican.BarbicanKeyManager(connection))
    if metrics_ is None:
        metrics_ = metrics.metrics_for(conf, logger)
    secrets = AccountSecrets(manager, ttl=settings.ttl, max_entries=settings.cache_size,
                             retries=settings.retries, logger=logger,
                             negative_ttl=settings.negative_ttl, stale_ttl=settings.stale_ttl,
                             metrics_=metrics_)
    return secrets, settings


def filter_factory(global_conf, **local_conf):
    """Paste entry point ``egg:swiftcrypt#account_keymaster``."""
    conf = dict(global_conf, **local_conf)
    resolved = account_conf(conf)
    logger = logs.get_logger(conf, SECTION)
    secrets, settings = make_secrets(resolved, logger, metrics_=metrics.metrics_for(conf, logger))

    def make_filter(app):
        return AccountKeyMaster(app, secrets, settings, logger)

    return make_filter
