"""``swiftcrypt rekey``: rewrite an account's objects under the active
root secret, so that retired secrets can be removed from the config
(and, with ``--encrypt-plaintext``, encrypt what was written before
encryption was enabled).

See doc/rekey.md. Output: with ``--verbose`` one line per object (and
per account or container whose encrypted metadata was looked at), always
one line per failure (on stderr) and a summary line; exit status 0 when
nothing failed, 1 otherwise.
"""

import argparse
import json
import os
import sys

from urllib.parse import quote

from swiftcrypt import rekeyaccounts, rekeyrun, rekeystate
from swiftcrypt.checksums import md5
from swiftcrypt.errors import ConfigError
from swiftcrypt.rekeyprogress import Progress
from swiftcrypt.store.headers import FAKE_ACCOUNT_LISTING
from swiftcrypt.tokenbucket import TokenBucket
from swiftcrypt.wsgiclient import call


def configure(parser):
    """Add the ``rekey`` options to ``parser``."""
    parser.description = ("Rewrite objects, and account and container metadata, under the "
                          "active root secret, so that old secrets can be removed "
                          "(see doc/rekey.md).")
    parser.add_argument("--config", required=True, metavar="PIPELINE.conf",
                        help="internal paste pipeline: keymaster, encryption and the "
                             "backend app, no auth (see etc/rekey-*.conf-sample)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", help="account to re-key, e.g. AUTH_test")
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
    parser.add_argument("--container", help="only this container (with --account)")
    parser.add_argument("--concurrency", type=_positive, default=1, metavar="N",
                        help="objects re-keyed at once (default 1)")
    parser.add_argument("--max-ops", type=_positive_float, metavar="R",
                        help="at most R items a second (objects and metadata steps)")
    parser.add_argument("--max-bytes", type=_positive_float, metavar="B",
                        help="at most B bytes of objects rewritten a second")
    parser.add_argument("--state", metavar="FILE",
                        help="checkpoint file: a run killed and started again with the same "
                             "FILE resumes where it was")
    parser.add_argument("--processes", type=_positive, default=1, metavar="N",
                        help="split the work between N processes or machines")
    parser.add_argument("--process", type=int, default=0, metavar="I",
                        help="which share of --processes this run does, 0 to N-1")
    parser.add_argument("--json", metavar="FILE",
                        help="write a JSON summary per account and per secret id to FILE")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                        help="progress line on stderr (auto: when stderr is a terminal)")
    parser.add_argument("--dry-run", action="store_true",
                        help="report what would be re-keyed, write nothing")
    parser.add_argument("--limit", type=_positive, metavar="N",
                        help="stop after N objects that needed re-keying (or encrypting)")
    parser.add_argument("--encrypt-plaintext", action="store_true",
                        help="also encrypt, under the active secret, objects written "
                             "before encryption was enabled (and plain account and "
                             "container metadata, where the pipeline's encryption "
                             "filter encrypts it); enable encryption on every proxy "
                             "first (see doc/rekey.md)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="one line per object")


def _printable(text):
    # names may hold newlines or controls; keep every report one line
    return quote(text.encode("utf-8", "surrogateescape"), safe="/:@!$&'()*+,;=-._~")


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _is_swift_proxy_pipeline(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    return "egg:swift#proxy" in text or "swift.proxy.server" in text


def _load_swift_pipeline(path):
    from swift.common.utils import set_swift_dir, validate_configuration
    from swift.common.wsgi import appconfig
    from swift.common.wsgi import loadapp as swift_loadapp

    # as Swift's servers do: the hash path from swift_dir's swift.conf; the
    # storage policies, there as here, only ever from /etc/swift/swift.conf
    swift_dir = appconfig(path).get("swift_dir")
    if swift_dir:
        set_swift_dir(swift_dir)
    validate_configuration()
    return swift_loadapp(path, allow_modify_pipeline=False)


def load_pipeline(path):
    """Load the ``main`` paste pipeline of ``path``; ConfigError (one
    line) if it cannot be.

    A pipeline ending in Swift's proxy is loaded by Swift's own loader
    (the proxy needs what it adds to the config), with the proxy's
    automatic pipeline changes off, as Swift's internal clients do: the
    pipeline runs as written."""
    path = os.path.abspath(path)
    try:
        if _is_swift_proxy_pipeline(path):
            return _load_swift_pipeline(path)
        from paste.deploy import loadapp
        return loadapp("config:" + path)
    except ConfigError:
        raise
    except Exception as err:  # paste, or the backend app's own start-up
        message = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError("config", "cannot load %s: %s" % (path, message)) from None


def _line(result, account=None):
    """One report line; ``account`` (runs over several accounts) is named in it."""
    where = "" if account is None else _printable(account)
    if result.container is None:  # the account's own metadata
        text = "%s account metadata%s" % (result.outcome, " " + where if where else "")
    else:
        container = _printable(result.container)
        if where:
            container = where + "/" + container
        if result.name is None:  # a container's own metadata
            text = "%s container metadata %s" % (result.outcome, container)
        else:
            text = "%s %s/%s" % (result.outcome, container, _printable(result.name))
    return text + (" (%s)" % result.detail if result.detail else "")


def summary(account, counts, dry_run, encrypt_plaintext=False):
    """The summary line (with ``encrypt_plaintext``, the encrypted count
    at its end)."""
    rekeyed = ("would re-key %d" % counts[rekeyrun.WOULD_REKEY]) if dry_run \
        else ("re-keyed %d" % counts[rekeyrun.REKEYED])
    scanned = sum(counts.values())
    return ("%saccount %s: scanned %d, already current %d, %s, conflicts %d, failures %d, "
            "unencrypted %d, expired %d" % (
                "dry run: " if dry_run else "", _printable(account), scanned,
                counts[rekeyrun.CURRENT], rekeyed, counts[rekeyrun.CONFLICT],
                counts[rekeyrun.FAILED],
                counts[rekeyrun.UNENCRYPTED], counts[rekeyrun.EXPIRED])) + (
        _encrypted_count(counts, dry_run) if encrypt_plaintext else "")


def _encrypted_count(counts, dry_run):
    if dry_run:
        return ", would encrypt %d" % counts[rekeyrun.WOULD_ENCRYPT]
    return ", encrypted %d" % counts[rekeyrun.ENCRYPTED]


USAGE, FAILED_ITEMS = 2, 1  # exit statuses: bad usage or config; some item failed


class _Refused(Exception):
    """Bad input: one line on stderr, exit status 2, nothing written."""


def _share(processes, process):
    """``mine(item)`` for share ``process`` of ``processes``: the hash of the
    item's name modulo ``processes``, as swift-object-expirer splits its
    tasks."""
    if processes == 1:
        return None

    def mine(item):
        digest = md5(item.encode("utf-8", "surrogateescape")).hexdigest()
        return int(digest, 16) % processes == process
    return mine


def _check_options(args):
    if not 0 <= args.process < args.processes:
        raise _Refused("--process %d is out of range: 0 to %d with --processes %d" % (
            args.process, args.processes - 1, args.processes))
    if args.container is not None and args.account is None:
        raise _Refused("--container needs --account")


def _select_accounts(args, app):
    try:
        if args.all_accounts:
            return rekeyaccounts.all_accounts(app, args.devices, not args.no_mount_check)
        if args.accounts_from:
            return rekeyaccounts.accounts_from(args.accounts_from)
    except rekeyaccounts.AccountsError as err:
        raise _Refused(str(err)) from None
    return [args.account]


def _check_accounts_exist(app, accounts):
    """_Refused naming the first account the backend does not know."""
    for account in accounts:
        resp = call(app, "HEAD", "/v1/" + account, [("X-Backend-Allow-Reserved-Names", "true")],
                    environ={rekeyrun.OVERRIDE: True})
        resp.close()
        if resp.status == 404 or resp.header(FAKE_ACCOUNT_LISTING, "").lower() == "yes":
            raise _Refused("account %s: no such account" % _printable(account))
        if resp.status // 100 != 2:
            raise _Refused("account %s: HEAD answered %s" % (_printable(account), resp.status))


def _throttle(args):
    """``throttle(ops, nbytes)`` for --max-ops/--max-bytes, or None."""
    buckets = [(TokenBucket(rate), index) for rate, index in (
        (args.max_ops, 0), (args.max_bytes, 1)) if rate]
    if not buckets:
        return None
    import eventlet

    def throttle(*units):
        wait = max([bucket.take(units[index]) for bucket, index in buckets
                    if units[index]] or [0])
        if wait > 0:
            eventlet.sleep(wait)
    return throttle


def _state(args, accounts):
    if not args.state:
        return None
    ident = rekeystate.identity(
        args.config, "all" if args.all_accounts else accounts, container=args.container,
        dry_run=args.dry_run, encrypt_plaintext=args.encrypt_plaintext,
        processes=args.processes, process=args.process)
    try:
        return rekeystate.StateFile(args.state, ident)
    except rekeystate.StateError as err:
        raise _Refused(str(err)) from None


def run(args):
    """Run the re-key; returns the exit status."""
    try:
        _check_options(args)
    except _Refused as err:
        print("swiftcrypt rekey: %s" % err, file=sys.stderr)
        return USAGE
    try:
        app = load_pipeline(args.config)
    except ConfigError as err:
        print("swiftcrypt rekey: %s" % err, file=sys.stderr)
        return 1
    try:
        accounts = _select_accounts(args, app)
        state = _state(args, accounts)
        if not args.all_accounts:
            _check_accounts_exist(app, accounts)
    except _Refused as err:
        print("swiftcrypt rekey: %s" % err, file=sys.stderr)
        return USAGE
    if state is not None and state.resumed:
        print("resuming from %s" % args.state, file=sys.stderr, flush=True)
    progress = Progress(sys.stderr, enabled={"on": True, "off": False}.get(
        args.progress, sys.stderr.isatty()))
    progress.expect(app, accounts if args.container is None else ())

    current = [None]  # the account being re-keyed, named in lines of a many-account run

    def report(result):
        progress.done(result)
        if result.outcome == rekeyrun.FAILED:
            progress.clear()
            print("error: " + _line(result, current[0]), file=sys.stderr, flush=True)
        elif args.verbose:
            progress.clear()
            print(_line(result, current[0]), flush=True)

    throttle = _throttle(args)
    mine = _share(args.processes, args.process)
    positions = {}
    failed = False
    left = args.limit
    for account in accounts:
        pos = state.position(account) if state is not None else rekeystate.Position()
        positions[account] = pos
        if pos.finished:
            continue
        current[0] = None if args.account is not None else account
        rekeyer = rekeyrun.Rekeyer(app, account, dry_run=args.dry_run,
                                   encrypt_plaintext=args.encrypt_plaintext,
                                   throttle=throttle)
        before = _handled(pos.counts)
        try:
            rekeyer.run(args.container, left, report, concurrency=args.concurrency,
                        position=pos, mine=mine,
                        checkpoint=state.save if state is not None else None)
        except rekeyrun.StopRun as err:
            progress.clear()
            print("error: %s" % err, file=sys.stderr)
            failed = True
            _save(state)
            break
        except rekeyrun.ListingError as err:
            progress.clear()
            print("error: %s" % err, file=sys.stderr)
            failed = True
        if args.container is not None and not failed:
            pos.finished = True
        _save(state)
        progress.clear()
        print(summary(account, pos.counts, args.dry_run, args.encrypt_plaintext), flush=True)
        failed = failed or bool(pos.counts.get(rekeyrun.FAILED))
        if left is not None:
            left -= _handled(pos.counts) - before
            if left <= 0:
                break
    progress.clear()
    _save(state, complete=all(pos.finished for pos in positions.values())
          and len(positions) == len(accounts))
    if args.json:
        _write_json(args.json, positions, args.dry_run)
    return FAILED_ITEMS if failed else 0


def _handled(counts):
    return sum(counts.get(outcome, 0) for outcome in rekeyrun._HANDLED)


def _save(state, complete=False):
    if state is not None:
        state.save(force=True, complete=complete)


def _write_json(path, positions, dry_run):
    secrets = {}
    for pos in positions.values():
        for secret_id, per in pos.secrets.items():
            total = secrets.setdefault(secret_id, {})
            for outcome, count in per.items():
                total[outcome] = total.get(outcome, 0) + count
    data = {"dry_run": dry_run,
            "accounts": {name: dict(pos.counts, bytes=pos.bytes, finished=pos.finished,
                                    secrets=pos.secrets)
                         for name, pos in positions.items()},
            "secrets": secrets}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)
