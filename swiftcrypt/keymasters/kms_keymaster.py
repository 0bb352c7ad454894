"""The kms_keymaster filter: root secrets held in Barbican.

Configured like Swift's kms_keymaster: ``key_id`` (and ``key_id_<id>`` for
more root secrets), ``active_root_secret_id``, the Keystone credentials
(``username``, ``password``, ``project_name``, ... ``auth_endpoint``),
``barbican_endpoint``, ``barbican_region_name``, ``meta_version_to_write``
and ``keymaster_config_path`` (a file whose ``[kms_keymaster]`` section holds
those options). Ours in addition: ``auth_type`` (``password`` or
``noauth``), ``timeout`` (seconds per request, default 10), ``retries``
(default 3, with backoff doubling from 0.5 s up to 5 s; only unreachable
servers and server errors are retried).

Every secret is fetched once, when the filter is built, and checked: a
symmetric AES key of at least 256 bits stored as raw bytes. Any failure
stops start-up with a ``ConfigError`` of one line naming the option, the
key id and the reason. From then on this is the ``keymaster`` filter: the
secrets become a ``RootSecrets`` handed to ``keymaster.KeyMaster``.

Reloads: Swift's proxy rebuilds its pipeline on a reload, so new
``key_id*`` options (a rotation) are fetched then. On a seamless reload
(SIGUSR1: the proxy re-executes itself) with Barbican unreachable, the
secrets the previous program had are taken from memory it handed over
(see ``handover``; never from disk) and the proxy keeps serving; a
configured key id it did not have, or a fresh start, still needs
Barbican and fails fast. Key-service latency and errors are counted with
Swift's statsd options (``metrics``).
"""

import time

from swiftcrypt import keymanager
from swiftcrypt.common import logs, metrics, options
from swiftcrypt.common.audit import audit
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager import barbican
from swiftcrypt.keymanager.base import check_root_secret, error_kind
from swiftcrypt.keymasters import handover
from swiftcrypt.keymasters.config_keymaster import (
    KeyMaster,
    RootSecrets,
    active_secret_id,
    meta_version,
)

SECTION = "kms_keymaster"
KEY_ID_OPTION = "key_id"

#: Options that, with keymaster_config_path set, belong only in that file
#: (as with Swift's kms_keymaster).
_FILE_ONLY = frozenset(barbican.IDENTITY_OPTIONS + (
    "reauthenticate", "auth_endpoint", "api_class", "barbican_endpoint",
    "barbican_region_name", "active_root_secret_id",
))


class KmsError(ConfigError):
    """Fetching a root secret failed at start-up.

    ``option`` is the ``key_id*`` option, ``key_id`` the secret id and
    ``__cause__`` the ``KeyManagerError``.
    """

    def __init__(self, option, key_id, problem):
        self.key_id = key_id
        super().__init__(option, problem)


def secret_id_of(option):
    """``key_id`` -> None, ``key_id_<id>`` -> ``<id>``, else False."""
    return options.secret_id_of(option, KEY_ID_OPTION)


def is_kms_option(name):
    return name in _FILE_ONLY or secret_id_of(name) is not False


def kms_conf(conf):
    """Resolve ``keymaster_config_path`` (section ``[kms_keymaster]``)."""
    return options.load_with_config_path(conf, SECTION, is_kms_option)


def configured_key_ids(conf):
    """``{secret id: (option, Barbican key id)}`` from ``key_id*`` options,
    checked against ``active_root_secret_id``."""
    key_ids = {}
    for option, value in conf.items():
        secret_id = secret_id_of(option)
        if secret_id is False:
            continue
        value = "" if value is None else str(value).strip()
        if not value:
            raise ConfigError(option, "is empty")
        key_ids[secret_id] = (option, value)
    if not key_ids:
        raise ConfigError(KEY_ID_OPTION, "no key_id is configured (the Barbican id of the "
                                         "root secret)")
    active = active_secret_id(conf)
    if active not in key_ids:
        if active is None:
            raise ConfigError(
                KEY_ID_OPTION, "is not set, so active_root_secret_id must name one of the "
                "key_id_<id> options (%s)" % ", ".join(sorted(str(k) for k in key_ids)))
        raise ConfigError(
            "active_root_secret_id",
            "is %r but there is no key_id_%s option" % (active, active))
    return key_ids


def make_key_manager(conf):
    """The key manager the options describe (Barbican is the only one)."""
    return barbican.BarbicanKeyManager(barbican.BarbicanOptions.from_conf(conf))


def fetch_secret(manager, option, key_id, retries=0, sleep=time.sleep, metrics_=metrics.NONE):
    """Fetch and check one root secret; KmsError naming ``option`` and
    ``key_id`` on failure."""
    attempts = [0]

    def get():
        attempts[0] += 1
        with metrics_.timer("keyservice.get"):
            try:
                return manager.get_secret(key_id)
            except keymanager.KeyManagerError as err:
                metrics_.increment("keyservice.errors")
                metrics_.increment("keyservice.errors." + error_kind(err))
                raise

    try:
        secret = keymanager.call_with_retries(
            get, retries=retries, sleep=sleep)
        return check_root_secret(secret)
    except keymanager.KeyManagerError as err:
        problem = str(err)
        if not problem.startswith("secret "):
            problem = "secret %s: %s" % (key_id, problem)
        if attempts[0] > 1:
            problem += " (%d attempts)" % attempts[0]
        raise KmsError(option, key_id, problem) from err


def handover_scope(conf):
    """Whose secrets a handover holds: the endpoint and project of ``conf``."""
    return "%s|%s|%s" % (conf.get("barbican_endpoint") or conf.get("auth_endpoint") or "",
                         conf.get("project_id") or conf.get("project_name") or "",
                         conf.get("barbican_region_name") or "")


def fetch_root_secrets(conf, manager=None, sleep=time.sleep, logger=None, metrics_=None,
                       reloadable=False):
    """Fetch every configured root secret; return a RootSecrets. With
    ``reloadable`` (the proxy's filter) they are handed over to a
    re-executed program, and with the key manager unreachable the
    secrets handed over to this one stand in if they cover every key id."""
    key_ids = configured_key_ids(conf)
    active = active_secret_id(conf)
    retries = options.as_number(conf, "retries", barbican.DEFAULT_RETRIES, minimum=0, kind=int)
    metrics_ = metrics_ or metrics.NONE
    scope = handover_scope(conf)
    own_manager = manager is None
    if own_manager:
        manager = make_key_manager(conf)
    try:
        secrets = {}
        for secret_id in sorted(key_ids, key=str):
            option, key_id = key_ids[secret_id]
            secrets[secret_id] = fetch_secret(manager, option, key_id, retries, sleep,
                                              metrics_)
    except KmsError as err:
        handed = _handed_over(scope, key_ids, err) if reloadable else None
        if handed is None:
            raise
        if logger is not None:
            logger.warning(
                "kms_keymaster: %s; serving with the %d root secret(s) handed over by the "
                "program before this reload (key ids %s) until Barbican answers at the next "
                "reload", err, len(handed), ", ".join(sorted(k for _o, k in key_ids.values())))
        metrics_.increment("keyservice.reload_handover")
        return RootSecrets(handed, active)
    finally:
        if own_manager:
            manager.close()
    if reloadable:
        handover.publish(scope, {key_ids[sid][1]: payload for sid, payload in secrets.items()})
    if logger is not None:
        for secret_id in sorted(secrets, key=str):
            option, key_id = key_ids[secret_id]
            audit(logger, "first_use", secret_id=key_id, key_id=option)
        logger.info("kms_keymaster: fetched %d root secret(s) from %s (active %s)",
                    len(secrets), manager.description,
                    key_ids[active][1] if active in key_ids else None)
    return RootSecrets(secrets, active)


def _handed_over(scope, key_ids, err):
    """``{secret id: bytes}`` from the handover if ``err`` is the key
    manager being away and every key id was handed over, else None."""
    if not getattr(err.__cause__, "retryable", False):
        return None  # Barbican answered (gone, refused, unusable): obey it
    taken = handover.take(scope, [key_id for _option, key_id in key_ids.values()])
    if len(taken) != len({key_id for _option, key_id in key_ids.values()}):
        return None
    return {secret_id: taken[key_id] for secret_id, (_option, key_id) in key_ids.items()}


class KmsKeyMaster(KeyMaster):
    """The keymaster with its root secrets from Barbican."""

    log_route = "kms_keymaster"


def filter_factory(global_conf, **local_conf):
    """Paste entry point ``egg:swiftcrypt#kms_keymaster``."""
    conf = dict(global_conf, **local_conf)
    resolved = kms_conf(conf)
    version = meta_version(resolved)
    logger = logs.get_logger(conf, "kms_keymaster")
    secrets = fetch_root_secrets(resolved, logger=logger,
                                 metrics_=metrics.metrics_for(conf, logger), reloadable=True)

    def make_filter(app):
        return KmsKeyMaster(app, secrets, version, logger)

    return make_filter
