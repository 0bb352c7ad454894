"""Loggers for the filters.

Inside a Swift proxy (whose paste loader puts ``log_name`` in every
filter's config) we log through Swift's own logger, so our lines land in
the proxy's log with its settings; elsewhere through the stdlib.
"""

import logging


def get_logger(conf, route):
    """Return a logger for filter ``route`` configured by ``conf``."""
    if conf.get("log_name"):
        try:
            from swift.common.utils import get_logger as swift_logger
        except ImportError:  # swift not installed: plain logging
            pass
        else:
            return swift_logger(conf, log_route=route)
    return logging.getLogger("swiftcrypt." + route)
