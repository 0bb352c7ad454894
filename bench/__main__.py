import argparse
import sys

from . import harness


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=harness.__doc__)
    harness.configure(parser)
    return harness.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
