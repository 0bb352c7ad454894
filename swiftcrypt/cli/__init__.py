"""The ``swiftcrypt`` command line.

Each subcommand lives in its own module, which provides
``configure(parser)`` and ``run(args) -> exit status`` (see exitcodes);
modules are imported only when their subcommand runs, so ``swiftcrypt
keys`` never loads eventlet.
"""

import argparse
import importlib
import sys
import warnings

from swiftcrypt import __version__
from swiftcrypt.cli import exitcodes

DESCRIPTION = "swiftcrypt: transparent encryption at rest for OpenStack Swift."
SUBCOMMANDS = {
    "serve": ("swiftcrypt.cli.serve", "run the encrypting proxy (eventlet WSGI server)"),
    "keys": ("swiftcrypt.cli.keys", "store, create and check root secrets in Barbican"),
    "rekey": ("swiftcrypt.cli.rekey", "re-encrypt existing objects under the active root secret"),
    "bench": ("swiftcrypt_bench.harness",
              "measure throughput and latency against Swift's own filters"),
}


def build_parser(argv):
    """The parser; only the subcommand named in ``argv`` is configured
    (its module imported)."""
    parser = argparse.ArgumentParser(prog="swiftcrypt", description=DESCRIPTION,
                                     epilog=exitcodes.epilog(
                                         "Run 'swiftcrypt COMMAND --help' for a command's "
                                         "options."))
    parser.add_argument("--version", action="version", version="swiftcrypt " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = argv[0] if argv else None
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text[0].upper() +
                            help_text[1:] + ".", epilog=exitcodes.epilog())
        if name == chosen:
            mod = _import_quietly(module)
            mod.configure(sp)
            sp.set_defaults(_run=mod.run)
    return parser


def _import_quietly(module):
    # Swift's modules pull in eventlet and dnspython, whose import warns
    # about their own dependencies' deprecations (16 lines of DSA warnings
    # before any --help): not news for the user of this command.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def main(argv=None):
    """Entry point of the ``swiftcrypt`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args._run(args) or exitcodes.OK
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
