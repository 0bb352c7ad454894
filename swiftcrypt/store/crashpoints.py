"""Named points where the store can be made to die, for crash tests.

The store's crash consistency (objects.py: ``ObjectHandlers._change``) is
about what a process killed between two steps leaves behind. Random kills
rarely land in those few microseconds, so the crash tests also set
``SWIFTCRYPT_STORE_CRASH_AT=<point>`` and the process exits on the spot, as
a ``kill -9`` would (no cleanup, no flush), when it reaches that point.
Unset, as in any real deployment, ``reached`` does nothing.
"""

import os

ENV = "SWIFTCRYPT_STORE_CRASH_AT"
_AT = os.environ.get(ENV, "")

# <put|post|delete>-listed: the listing row and intent are committed, the
# files not yet changed; <...>-changed: the files changed, the intent not
# yet cleared.
POINTS = tuple("%s-%s" % (op, step) for op in ("put", "post", "delete")
               for step in ("listed", "changed"))


def reached(point):
    """Die here if the environment names ``point``."""
    if _AT == point:
        os._exit(137)
