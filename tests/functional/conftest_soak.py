"""``--soak-seconds``: how long the soak test runs.

Load with ``-p tests.functional.conftest_soak``; without the plugin the
environment variable ``SWIFTCRYPT_SOAK_SECONDS`` sets it, and the default
is a short run fit for CI::

    pytest tests/functional/test_soak.py -p tests.functional.conftest_soak --soak-seconds 600
    SWIFTCRYPT_SOAK_SECONDS=600 pytest tests/functional/test_soak.py
"""

import os

DEFAULT_SECONDS = 30.0
ENV = "SWIFTCRYPT_SOAK_SECONDS"


def pytest_addoption(parser):
    parser.addoption("--soak-seconds", type=float, default=None,
                     help="duration of the soak test (default $%s or %s)"
                     % (ENV, DEFAULT_SECONDS))


def soak_seconds(config):
    """The option, else the environment variable, else the default."""
    try:
        value = config.getoption("soak_seconds")
    except ValueError:  # plugin not loaded
        value = None
    if value is None:
        value = float(os.environ.get(ENV) or DEFAULT_SECONDS)
    if value <= 0:
        raise ValueError("the soak duration must be positive, got %r" % value)
    return value
