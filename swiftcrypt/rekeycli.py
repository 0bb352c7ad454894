"""``swiftcrypt rekey``: rewrite an account's objects under the active
root secret, so that retired secrets can be removed from the config
(and, with ``--encrypt-plaintext``, encrypt what was written before
encryption was enabled).

See doc/rekey.md. Output: with ``--verbose`` one line per object (and
per account or container whose encrypted metadata was looked at), always
one line per failure (on stderr) and a summary line; exit status 0 when
nothing failed, 1 otherwise, 2 when the pipeline cannot be loaded.
"""

import argparse
import os
import sys

from urllib.parse import quote

from swiftcrypt import exitcodes, rekeyrun
from swiftcrypt.errors import ConfigError


DESCRIPTION = ("Rewrite an account's objects under the active root secret, so that "
               "retired secrets can be removed from the config (and, with "
               "--encrypt-plaintext, encrypt what was written before encryption was "
               "enabled). With --verbose one line per object; always one line per "
               "failure (on stderr) and a summary line. See doc/rekey.md.")
EXIT_DETAILS = ("For rekey: 1 when an object or a listing failed (the run goes on past "
                "an object's failure), 2 when the pipeline config cannot be loaded.")


def configure(parser):
    """Add the ``rekey`` options to ``parser``."""
    parser.description = DESCRIPTION
    parser.epilog = exitcodes.epilog(EXIT_DETAILS)
    parser.add_argument("--config", required=True, metavar="PIPELINE.conf",
                        help="internal paste pipeline: keymaster, encryption and the "
                             "backend app, no auth (see etc/rekey-*.conf-sample)")
    parser.add_argument("--account", required=True, help="account to re-key, e.g. AUTH_test")
    parser.add_argument("--container", help="only this container")
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
                        help="one line per object (and per account or container whose "
                             "encrypted metadata was looked at)")


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


def _line(result):
    if result.container is None:  # the account's own metadata
        text = "%s account metadata" % result.outcome
    elif result.name is None:  # a container's own metadata
        text = "%s container metadata %s" % (result.outcome, _printable(result.container))
    else:
        text = "%s %s/%s" % (result.outcome, _printable(result.container),
                             _printable(result.name))
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


def run(args):
    """Run the re-key; returns the exit status."""
    try:
        app = load_pipeline(args.config)
    except ConfigError as err:
        print("swiftcrypt rekey: %s" % err, file=sys.stderr)
        return exitcodes.USAGE

    def report(result):
        if result.outcome == rekeyrun.FAILED:
            print("error: " + _line(result), file=sys.stderr, flush=True)
        elif args.verbose:
            print(_line(result), flush=True)

    rekeyer = rekeyrun.Rekeyer(app, args.account, dry_run=args.dry_run,
                               encrypt_plaintext=args.encrypt_plaintext)
    failed_listing = False
    try:
        rekeyer.run(args.container, args.limit, report)
    except rekeyrun.ListingError as err:
        print("error: %s" % err, file=sys.stderr)
        failed_listing = True
    counts = rekeyer.counts
    print(summary(args.account, counts, args.dry_run, args.encrypt_plaintext), flush=True)
    return exitcodes.FAILED if failed_listing or counts[rekeyrun.FAILED] else exitcodes.OK
