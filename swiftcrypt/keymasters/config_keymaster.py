"""The keymaster filter: root secrets from config, keys for each request.

It puts the keys callback (``swift.callback.fetch_crypto_keys``) into the
environ of every account, container and object request (on an account
request it gives the account key, for encrypted account metadata). The callback derives keys
from a root secret and the request path; given a stored key id it derives
the keys that item was written with. ``KeyMaster`` takes its root secrets
ready-made, so the Barbican-backed keymaster shares all of this.
"""

import base64
import binascii

from swiftcrypt.common import logs, names, options
from swiftcrypt.common.boundedcache import BoundedCache
from swiftcrypt.common.errors import ConfigError, UnknownSecretIdError
from swiftcrypt.common.swiftpath import request_parts
from swiftcrypt.crypto import derivation, keyids

CALLBACK = names.KEYS_CALLBACK
MIN_SECRET_BYTES = derivation.ROOT_SECRET_BYTES
SECRET_OPTION = "encryption_root_secret"
_KEY_METHODS = ("PUT", "POST", "GET", "HEAD")


class RootSecrets:
    """Root secrets by id (``None`` for the unnamed one) and the active id."""

    def __init__(self, secrets, active_id=None):
        if not secrets:
            raise ConfigError(SECRET_OPTION, "no root secret is configured")
        if active_id not in secrets:
            option = "active_root_secret_id" if active_id is not None else SECRET_OPTION
            raise ConfigError(
                option,
                "the active root secret %s is not configured"
                % ("(no id)" if active_id is None else repr(active_id)),
            )
        self._secrets = dict(secrets)
        self.active_id = active_id
        others = sorted((i for i in self._secrets if i != active_id), key=str)
        self._ids = [active_id] + others
        # These secrets never change (a rotation or retirement makes new
        # RootSecrets), so keys derived from them may be kept with them.
        self._derived = derivation.DerivedKeys()
        # each container's key, for the objects of it not in _derived yet
        self._container_keys = BoundedCache(derivation.CACHE_ENTRIES)
        # request path parts -> (cache key, keys) under the active secret
        self._active = BoundedCache(derivation.CACHE_ENTRIES)

    def ids(self):
        """All secret ids, active first, then in a stable order."""
        return list(self._ids)

    def get(self, secret_id):
        """The secret for ``secret_id``; UnknownSecretIdError if none."""
        try:
            return self._secrets[secret_id]
        except KeyError:
            raise UnknownSecretIdError(secret_id) from None

    def request_keys(self, secret_id, version, cpath, opath):
        """``derivation.request_keys`` from the secret ``secret_id``
        (UnknownSecretIdError if none), derived once per paths and kept
        (bounded) for the requests after; the caller's own copy."""
        return self._derived.copy_of((secret_id, version, cpath, opath), self._derive)

    def active_keys(self, version, account, container, obj):
        """``(cache key, keys)``: the arguments of request_keys() for a
        request's path parts under the active secret, and its keys
        themselves (to read and compare, never to change or hand out),
        cached by the parts: a hit formats no path."""
        return self._active.get((version, account, container, obj),
                                self._derive_active, version, account, container, obj)

    def _derive_active(self, version, account, container, obj):
        cache_key = (self.active_id, version) + keyids.request_paths(
            account, container, obj, version)
        return cache_key, self._derived.get(cache_key, self._derive, *cache_key)

    def _derive(self, secret_id, version, cpath, opath):
        root = self.get(secret_id)
        container_key = None
        if cpath is not None:
            container_key = self._container_keys.get(
                (secret_id, cpath), derivation.derive_key, root, cpath)
        return derivation.request_keys(root, secret_id, version, cpath, opath, self._ids,
                                       container_key)

    def __contains__(self, secret_id):
        return secret_id in self._secrets

    def __repr__(self):  # never show secret bytes
        return "<RootSecrets ids=%r active=%r>" % (self.ids(), self.active_id)


def decode_secret(option, text):
    """Strict base64 of at least 32 bytes -> bytes; else ConfigError."""
    cleaned = "".join(str(text).split())  # config files may wrap long values
    try:
        secret = base64.b64decode(cleaned.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ConfigError(option, "is not valid base64") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            option,
            "decodes to %d bytes; at least %d are required" % (len(secret), MIN_SECRET_BYTES),
        )
    return secret


def secret_id_of(option):
    """``encryption_root_secret[_<id>]`` -> its id, or False if not one."""
    return options.secret_id_of(option, SECRET_OPTION)


def is_keymaster_option(name):
    """Options that belong in the keymaster's own config file."""
    return secret_id_of(name) is not False or name == "active_root_secret_id"


def meta_version(conf):
    """The key id version to write, validated."""
    version = str(conf.get("meta_version_to_write") or keyids.DEFAULT_VERSION).strip()
    if version not in keyids.VERSIONS:
        raise ConfigError(
            "meta_version_to_write", "must be one of 1, 2, 3, got %r" % version
        )
    return version


def active_secret_id(conf):
    """``active_root_secret_id`` (None when unset or empty)."""
    return conf.get("active_root_secret_id") or None


def root_secrets_from_conf(conf):
    """Build RootSecrets from ``encryption_root_secret*`` options."""
    secrets = {}
    for option, value in conf.items():
        secret_id = secret_id_of(option)
        if secret_id is False:
            if option.startswith(SECRET_OPTION):
                raise ConfigError(option, "is not %s or %s_<id>" % (SECRET_OPTION, SECRET_OPTION))
            continue
        if value is None or not str(value).strip():
            raise ConfigError(option, "is empty")
        secrets[secret_id] = decode_secret(option, value)
    return RootSecrets(secrets, active_secret_id(conf))


class KeyMaster:
    """WSGI filter that provides the keys callback.

    ``root_secrets`` is a RootSecrets; ``version`` the key id version to
    write for new items.
    """

    log_route = "keymaster"

    def __init__(self, app, root_secrets, version=keyids.DEFAULT_VERSION, logger=None):
        self.app = app
        self.root_secrets = root_secrets
        self.version = version
        self.logger = logger or logs.get_logger({}, self.log_route)

    def create_key(self, path, secret_id=None):
        """Derive the key for real-text ``path`` from root secret ``secret_id``."""
        return derivation.derive_key(self.root_secrets.get(secret_id), path)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in _KEY_METHODS:
            parts = request_parts(environ)
            if parts is not None:
                _version, account, container, obj = parts
                if container is None:
                    keys = AccountKeys(self, account, environ.get(CALLBACK))
                else:
                    keys = RequestKeys(self, account, container, obj, environ.get(CALLBACK))
                environ[CALLBACK] = keys.fetch
        return self.app(environ, start_response)


class RequestKeys:
    """The keys callback for one request."""

    def __init__(self, keymaster, account, container, obj, fallback=None):
        self.keymaster = keymaster
        self.account = account
        self.container = container
        self.obj = obj
        self.fallback = fallback
        self._cache = {}  # with a fallback: keys with its ids added
        self._active = None

    def fetch(self, key_id=None, *args, **kwargs):
        """Return ``{"container", "object", "id", "all_ids"}`` for this
        request, or for the stored ``key_id`` when one is given."""
        roots = self.keymaster.root_secrets
        if self._active is None:  # (cache key, keys) of what fetch() writes with
            self._active = roots.active_keys(self.keymaster.version, self.account,
                                             self.container, self.obj)
        cache_key, keys = self._active
        if key_id is not None and key_id != keys.get("id"):
            # (A stored id equal to the one we write with resolves to the
            # request's own paths: most reads skip resolve_key_paths.)
            secret_id, version, cpath, opath = keyids.resolve_key_paths(
                key_id, self.account, self.container, self.obj)
            if secret_id not in roots:
                if self.fallback is not None:
                    return self.fallback(key_id, *args, **kwargs)
                raise UnknownSecretIdError(secret_id)
            cache_key = (secret_id, version, cpath, opath)
            keys = None
        if self.fallback is None and keys is not None:
            return derivation.copy_keys(keys)  # a copy of its own
        if self.fallback is None:
            return roots.request_keys(*cache_key)  # a copy of its own
        keys = self._cache.get(cache_key)
        if keys is None:
            keys = self._derive(*cache_key)
            self._cache[cache_key] = keys
        return dict(keys)

    def _derive(self, secret_id, version, cpath, opath):
        keys = self.keymaster.root_secrets.request_keys(secret_id, version, cpath, opath)
        if keys and self.fallback is not None:
            # a keymaster before us holds other secrets: readers
            # need its ids too (e.g. for every Etag-Mac)
            keys["all_ids"].extend(self.fallback(key_id=None).get("all_ids", []))
        return keys


class AccountKeys:
    """The keys callback for one account request: ``{"account", "id",
    "all_ids"}``, the account key being HMAC-SHA256(root, "/<account>")."""

    def __init__(self, keymaster, account, fallback=None):
        self.keymaster = keymaster
        self.account = account
        self.fallback = fallback

    def fetch(self, key_id=None, *args, **kwargs):
        """Keys to write with, or those of the stored ``key_id``."""
        roots = self.keymaster.root_secrets
        if key_id is None:
            secret_id, version = roots.active_id, self.keymaster.version
            path = keyids.account_path(self.account)
        else:
            secret_id, version, path = keyids.resolve_account_path(key_id, self.account)
            if secret_id not in roots:
                if self.fallback is not None:
                    return self.fallback(key_id, *args, **kwargs)
                raise UnknownSecretIdError(secret_id)
        return derivation.account_keys(roots.get(secret_id), path, secret_id, version,
                                       roots.ids())


def keymaster_conf(conf):
    """Resolve ``keymaster_config_path`` for the ``keymaster`` filter."""
    return options.load_with_config_path(conf, "keymaster", is_keymaster_option)


def filter_factory(global_conf, **local_conf):
    """Paste entry point ``egg:swiftcrypt#keymaster``."""
    conf = dict(global_conf, **local_conf)
    resolved = keymaster_conf(conf)
    secrets = root_secrets_from_conf(resolved)
    version = meta_version(resolved)
    logger = logs.get_logger(conf, "keymaster")

    def make_filter(app):
        return KeyMaster(app, secrets, version, logger)

    return make_filter
