"""The account_keymaster's keys callback for one request: keys derived
from the account's own root secret (its canonical one for new keys, the
one a stored key id names for reading), the earlier keymaster's callback as
the fallback for key ids that are not Barbican ids."""

import os

from swiftcrypt.common.errors import UnknownSecretIdError
from swiftcrypt.crypto import derivation, keyids
from swiftcrypt.keymasters.account_secrets import (
    AccountKeyError,
    NoAccountSecret,
    WrongAccountSecret,
    is_account_secret_id,
)


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
