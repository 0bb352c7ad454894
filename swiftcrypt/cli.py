"""The ``swiftcrypt`` command line.

Each subcommand lives in its own module, which provides
``configure(parser)`` and ``run(args) -> exit status``; modules are imported
only when their subcommand runs, so ``swiftcrypt keys`` never loads eventlet.
"""

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "serve": ("swiftcrypt.server", "run the encrypting proxy (eventlet WSGI server)"),
    "keys": ("swiftcrypt.keyscli", "store, create and check root secrets in Barbican"),
    "rekey": ("swiftcrypt.rekeycli", "re-encrypt existing objects under the active root secret"),
    "bench": ("bench.harness", "measure throughput and latency"),
}


def build_parser(argv):
    parser = argparse.ArgumentParser(prog="swiftcrypt", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = argv[0] if argv else None
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.configure(sp)
            sp.set_defaults(_run=mod.run)
    return parser


def main(argv=None):
    """Entry point of the ``swiftcrypt`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return args._run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
