"""``swiftcrypt rekey``: rewrite objects (and account and container
metadata) under the active root secret, so that retired secrets can be
removed from the config (and, with ``--encrypt-plaintext``, encrypt what
was written before encryption was enabled), for one account or a whole
cluster.

See doc/rekey.md. Output: with ``--verbose`` one line per object (and
per account or container whose encrypted metadata was looked at), always
one line per failure (on stderr) and a summary line per account; exit
status (swiftcrypt/cli/exitcodes.py) 0 when nothing failed, 1 when an item or
a listing failed, 2 for bad usage or config (nothing done).
"""

import argparse
import json
import os
import sys

from swiftcrypt.cli import exitcodes
from swiftcrypt.cli.accountselect import (
    Refused,
    add_account_options,
    check_accounts_exist,
    check_json,
    check_share,
    listed_accounts,
    positive,
    printable,
    share,
)
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.rekey import run as rekeyrun
from swiftcrypt.rekey import state as rekeystate
from swiftcrypt.rekey.progress import Progress
from swiftcrypt.rekey.tokenbucket import TokenBucket

DESCRIPTION = ("Rewrite objects, and account and container metadata, under the active "
               "root secret, so that retired secrets can be removed from the config (and, "
               "with --encrypt-plaintext, encrypt what was written before encryption was "
               "enabled): one account, a list of them or every account, in parallel, "
               "rate-limited, resumable and split between machines. With --verbose one "
               "line per object; always one line per failure (on stderr) and a summary "
               "line per account. See doc/rekey.md.")
EXIT_DETAILS = ("For rekey: 1 when an object or a listing failed (the run goes on past "
                "an object's failure); 2 when the pipeline config cannot be loaded, an "
                "account is unknown, the --state file is unreadable, of another run or "
                "cannot be written, or --process is out of range (nothing rewritten).")


def configure(parser):
    """Add the ``rekey`` options to ``parser``."""
    parser.description = DESCRIPTION
    parser.epilog = exitcodes.epilog(EXIT_DETAILS)
    parser.add_argument("--config", required=True, metavar="PIPELINE.conf",
                        help="internal paste pipeline: keymaster, encryption and the "
                             "backend app, no auth (see etc/rekey-*.conf-sample)")
    add_account_options(parser)
    parser.add_argument("--container", help="only this container (with --account)")
    parser.add_argument("--concurrency", type=positive, default=1, metavar="N",
                        help="objects re-keyed at once (default 1)")
    parser.add_argument("--max-ops", type=positive_float, metavar="R",
                        help="at most R items a second (objects and metadata steps)")
    parser.add_argument("--max-bytes", type=positive_float, metavar="B",
                        help="at most B bytes of objects rewritten a second")
    parser.add_argument("--state", metavar="FILE",
                        help="checkpoint file: a run killed and started again with the same "
                             "FILE resumes where it was")
    parser.add_argument("--json", metavar="FILE",
                        help="write a JSON summary per account and per secret id to FILE")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                        help="progress line on stderr (default auto: when stderr is a "
                             "terminal)")
    parser.add_argument("--dry-run", action="store_true",
                        help="report what would be re-keyed, write nothing")
    parser.add_argument("--limit", type=positive, metavar="N",
                        help="stop after N objects that needed re-keying (or encrypting)")
    parser.add_argument("--encrypt-plaintext", action="store_true",
                        help="also encrypt, under the active secret, objects written "
                             "before encryption was enabled (and plain account and "
                             "container metadata, where the pipeline's encryption "
                             "filter encrypts it); enable encryption on every proxy "
                             "first (see doc/rekey.md)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="one line per object (and per account or container whose "
                             "encrypted metadata was looked at)")


def positive_float(text):
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
    where = "" if account is None else printable(account)
    if result.container is None:  # the account's own metadata
        text = "%s account metadata%s" % (result.outcome, " " + where if where else "")
    else:
        container = printable(result.container)
        if where:
            container = where + "/" + container
        if result.name is None:  # a container's own metadata
            text = "%s container metadata %s" % (result.outcome, container)
        else:
            text = "%s %s/%s" % (result.outcome, container, printable(result.name))
    return text + (" (%s)" % result.detail if result.detail else "")


def summary(account, counts, dry_run, encrypt_plaintext=False):
    """The summary line (with ``encrypt_plaintext``, the encrypted count
    at its end)."""
    rekeyed = ("would re-key %d" % counts[rekeyrun.WOULD_REKEY]) if dry_run \
        else ("re-keyed %d" % counts[rekeyrun.REKEYED])
    scanned = sum(counts.values())
    return ("%saccount %s: scanned %d, already current %d, %s, conflicts %d, failures %d, "
            "unencrypted %d, expired %d" % (
                "dry run: " if dry_run else "", printable(account), scanned,
                counts[rekeyrun.CURRENT], rekeyed, counts[rekeyrun.CONFLICT],
                counts[rekeyrun.FAILED],
                counts[rekeyrun.UNENCRYPTED], counts[rekeyrun.EXPIRED])) + (
        _encrypted_count(counts, dry_run) if encrypt_plaintext else "")


def _encrypted_count(counts, dry_run):
    if dry_run:
        return ", would encrypt %d" % counts[rekeyrun.WOULD_ENCRYPT]
    return ", encrypted %d" % counts[rekeyrun.ENCRYPTED]


USAGE, FAILED_ITEMS = exitcodes.USAGE, exitcodes.FAILED


def _check_options(args):
    check_share(args)
    if args.json:
        check_json(args.json)
    if args.container is not None and args.account is None:
        raise Refused("--container needs --account")


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
        state = rekeystate.StateFile(args.state, ident)
        state.save(force=True)  # now, not after the first items: it must be writable
    except rekeystate.StateError as err:
        raise Refused(str(err)) from None
    except OSError as err:
        raise Refused("cannot write state file %s: %s" % (args.state, err.strerror)) from None
    return state


def run(args):
    """Run the re-key; returns the exit status."""
    try:
        _check_options(args)
    except Refused as err:
        return _refused(err)
    try:
        app = load_pipeline(args.config)
    except ConfigError as err:
        return _refused(err)
    try:
        accounts, state = _accounts_and_state(args, app)
    except Refused as err:
        return _refused(err)
    if state is not None and state.resumed:
        print("resuming from %s" % args.state, file=sys.stderr, flush=True)
    progress = Progress(sys.stderr, enabled={"on": True, "off": False}.get(
        args.progress, sys.stderr.isatty()))
    progress.expect(app, accounts if args.container is None else ())

    current = [None]  # the account being re-keyed, named in lines of a many-account run
    report = _reporter(args, progress, current)
    throttle = _throttle(args)
    mine = share(args.processes, args.process)
    positions = {}
    failed = False
    left = args.limit
    for account in accounts:
        pos = state.position(account) if state is not None else rekeystate.Position()
        positions[account] = pos
        if pos.finished:
            continue
        current[0] = None if args.account is not None else account
        before = _handled(pos.counts)
        try:
            _rekey_account(args, app, account, pos, left, report, throttle, mine, state)
        except (rekeyrun.StopRun, rekeyrun.ListingError) as err:
            progress.clear()
            print("error: %s" % err, file=sys.stderr)
            failed = True
            if isinstance(err, rekeyrun.StopRun):  # the run ends here
                _save(state)
                break
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


def _refused(err):
    print("swiftcrypt rekey: %s" % err, file=sys.stderr)
    return USAGE


def _rekey_account(args, app, account, pos, left, report, throttle, mine, state):
    """Re-key ``account`` from ``pos``, at most ``left`` items (None: all)."""
    rekeyer = rekeyrun.Rekeyer(app, account, dry_run=args.dry_run,
                               encrypt_plaintext=args.encrypt_plaintext, throttle=throttle)
    rekeyer.run(args.container, left, report, concurrency=args.concurrency, position=pos,
                mine=mine, checkpoint=state.save if state is not None else None)


def _accounts_and_state(args, app):
    """The accounts to re-key and the ``--state`` checkpoint (None without
    one, written at once); Refused if either cannot be had."""
    accounts = listed_accounts(args, app)
    if not args.all_accounts:
        check_accounts_exist(app, accounts)
    return accounts, _state(args, accounts)  # written at once: refused if it cannot be


def _reporter(args, progress, current):
    """``report(result)`` for the Rekeyer: progress, an error line for
    each failure, a line for each item with --verbose (naming the account
    ``current[0]`` when set)."""

    def report(result):
        progress.done(result)
        if result.outcome == rekeyrun.FAILED:
            progress.clear()
            print("error: " + _line(result, current[0]), file=sys.stderr, flush=True)
        elif args.verbose:
            progress.clear()
            print(_line(result, current[0]), flush=True)

    return report


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
