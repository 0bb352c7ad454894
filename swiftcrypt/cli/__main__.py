"""``python -m swiftcrypt.cli``: the ``swiftcrypt`` command."""

import sys

from swiftcrypt.cli import main

if __name__ == "__main__":
    sys.exit(main())
