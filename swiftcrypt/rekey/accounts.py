"""Which accounts ``swiftcrypt rekey --all-accounts`` works on, found as
Swift's own tools find them: from the account databases on this node.

- Over the embedded store: every account of its listing DB.
- Over Swift's proxy app: the account DBs under ``devices`` (Swift's
  ``<devices>/<device>/accounts/...`` layout, as the account reaper and
  auditor walk it), each account kept only where this node holds its
  *first* primary replica in the account ring (the reaper's rule), so
  that running the tool on every account server node covers every account
  once. The tool's config is a proxy pipeline (for the rings and
  memcache); run it on the account servers' nodes, with ``--devices``.
"""

import os

from swiftcrypt.rekey.run import _pipeline


class AccountsError(Exception):
    """The accounts cannot be found (one line saying why)."""


def _store(app):
    from swiftcrypt.store.app import StoreApp
    return next((found for found in _pipeline(app) if isinstance(found, StoreApp)), None)


def _swift_proxy(app):
    try:
        from swift.proxy.server import Application
    except ImportError:
        return None
    return next((found for found in _pipeline(app) if isinstance(found, Application)), None)


def all_accounts(app, devices, mount_check=True):
    """The sorted account names this node re-keys (see the module)."""
    store = _store(app)
    if store is not None:
        return store.db.account_names()
    proxy = _swift_proxy(app)
    if proxy is None:
        raise AccountsError("--all-accounts needs the embedded store or Swift's proxy "
                            "as the pipeline's app")
    return _swift_accounts(proxy.account_ring, devices, mount_check)


def _local_ips():
    from swift.common.utils import whataremyips
    return set(whataremyips())


def _swift_accounts(ring, devices, mount_check):
    from swift.account.backend import AccountBroker
    from swift.common.utils import audit_location_generator

    if not os.path.isdir(devices):
        raise AccountsError("--devices %s: no such directory" % devices)
    local = _local_ips()
    found = set()
    for path, device, _partition in audit_location_generator(
            devices, "accounts", ".db", mount_check=mount_check):
        broker = AccountBroker(path)
        try:
            if broker.is_deleted():
                continue
            account = broker.get_info()["account"]
        except Exception:  # a DB being replicated or quarantined: not readable now
            continue
        _part, nodes = ring.get_nodes(account)
        first = nodes[0]
        if first["device"] == device and (first["ip"] in local or
                                          first.get("replication_ip") in local):
            found.add(account)
    return sorted(found)


def accounts_from(path):
    """The account names in file ``path``, one a line (blank lines and
    ``#`` comments skipped), in file order, each once."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AccountsError("cannot read --accounts-from %s: %s" % (
            path, getattr(err, "strerror", None) or err)) from None
    names = []
    for line in lines:
        name = line.strip()
        if name and not name.startswith("#"):
            names.append(name)
    names = list(dict.fromkeys(names))
    if not names:
        raise AccountsError("--accounts-from %s names no account" % path)
    return names
