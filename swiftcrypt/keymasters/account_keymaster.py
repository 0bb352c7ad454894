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

from swiftcrypt.common import logs, metrics, names, options
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.common.wsgicontext import call_app
from swiftcrypt.crypto import keyids
from swiftcrypt.keymanager import barbican
from swiftcrypt.keymasters import key_refusals
from swiftcrypt.keymasters.account_request_keys import AccountRequestKeys
from swiftcrypt.keymasters.account_secrets import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_STALE_TTL,
    DEFAULT_TTL,
    AccountKeyError,
    AccountSecrets,
)
from swiftcrypt.keymasters.config_keymaster import CALLBACK, meta_version
from swiftcrypt.keymasters.write_authorization import Authorization

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
                return key_refusals.refuse(self.logger, self.metrics, environ, start_response, err)
            return self.app(environ, start_response)
        resp = call_app(self.app, environ)
        err = keys.failure
        if key_refusals.replaces(resp, err):
            resp.close()
            denial = authorization.denial() if meta_write else None
            if denial is not None:  # the account or container write was not allowed anyway
                return denial(environ, start_response)
            return key_refusals.refuse(self.logger, self.metrics, environ, start_response, err)
        return resp.send(start_response)

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
