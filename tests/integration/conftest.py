"""Fixtures shared by every integration package.

``barbican_noauth``: one real Barbican without Keystone (cached venv,
started once per session) for the kms tests and for the Swift cluster's
kms_keymaster runs alike; each user of it stores its secrets under its own
project id. If it cannot be installed or started the fixture raises, so
the tests using it fail: they never skip.
"""

import pytest

from tests.integration.servers.barbican import BarbicanServer


@pytest.fixture(scope="session")
def barbican_noauth(tmp_path_factory):
    server = BarbicanServer(tmp_path_factory.mktemp("barbican-noauth"))
    yield server
    server.stop()
