"""Which accounts a cluster-wide command works on, and which share of
them this process does: the options shared by ``swiftcrypt rekey`` and
``swiftcrypt keys usage`` (doc/rekey.md, "A whole cluster"). Light to
import: ``swiftcrypt keys`` must not load eventlet or Swift."""

import argparse
import os
from urllib.parse import quote

from swiftcrypt.common.checksums import md5


def positive(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def printable(text):
    """``text`` percent-quoted: one line, whatever the name holds."""
    # names may hold newlines or controls; keep every report one line
    return quote(text.encode("utf-8", "surrogateescape"), safe="/:@!$&'()*+,;=-._~")




def add_account_options(parser):
    """The account selection options (shared with ``swiftcrypt keys usage``)."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", help="one account, e.g. AUTH_test")
    which.add_argument("--all-accounts", action="store_true",
                       help="every account whose first account-ring replica is on this "
                            "node's --devices (Swift), or every account of the "
                            "embedded store")
    which.add_argument("--accounts-from", metavar="FILE",
                       help="the accounts named in FILE, one a line")
    parser.add_argument("--devices", default="/srv/node", metavar="DIR",
                        help="with --all-accounts on Swift: the account servers' devices "
                             "directory (default /srv/node)")
    parser.add_argument("--no-mount-check", action="store_true",
                        help="with --all-accounts on Swift: walk devices that are not "
                             "mount points too")
    parser.add_argument("--processes", type=positive, default=1, metavar="N",
                        help="split the work between N processes or machines (default %(default)s)")
    parser.add_argument("--process", type=int, default=0, metavar="I",
                        help="which share of --processes this run does, 0 to N-1 (default "
                             "%(default)s)")


class Refused(Exception):
    """Bad input: one line on stderr, exit status 2, nothing written."""


def share(processes, process):
    """``mine(item)`` for share ``process`` of ``processes``: the hash of the
    item's name modulo ``processes``, as swift-object-expirer splits its
    tasks."""
    if processes == 1:
        return None

    def mine(item):
        digest = md5(item.encode("utf-8", "surrogateescape")).hexdigest()
        return int(digest, 16) % processes == process
    return mine


def check_share(args):
    """Refused for a --process out of range."""
    if not 0 <= args.process < args.processes:
        raise Refused("--process %d is out of range: 0 to %d with --processes %d" % (
            args.process, args.processes - 1, args.processes))


def check_json(path):
    """Refused unless a ``--json`` file can be written at ``path`` (checked
    before anything is done, not after a long scan or run)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise Refused("cannot write --json %s: no writable directory %s" % (path, directory))


def select_accounts(args, app):
    """The accounts the options select, each known to the backend
    (Refused otherwise, before anything is written)."""
    accounts = listed_accounts(args, app)
    if not args.all_accounts:
        check_accounts_exist(app, accounts)
    return accounts


def listed_accounts(args, app):
    from swiftcrypt.rekey import accounts

    try:
        if args.all_accounts:
            return accounts.all_accounts(app, args.devices, not args.no_mount_check)
        if args.accounts_from:
            return accounts.accounts_from(args.accounts_from)
    except accounts.AccountsError as err:
        raise Refused(str(err)) from None
    return [args.account]


def check_accounts_exist(app, accounts):
    """Refused naming the first account the backend does not know."""
    from swiftcrypt.common.wsgiclient import call
    from swiftcrypt.rekey import run
    from swiftcrypt.store.headers import FAKE_ACCOUNT_LISTING

    for account in accounts:
        resp = call(app, "HEAD", "/v1/" + account, [("X-Backend-Allow-Reserved-Names", "true")],
                    environ={run.OVERRIDE: True})
        resp.close()
        if resp.status == 404 or resp.header(FAKE_ACCOUNT_LISTING, "").lower() == "yes":
            raise Refused("account %s: no such account" % printable(account))
        if resp.status // 100 != 2:
            raise Refused("account %s: HEAD answered %s" % (printable(account), resp.status))
