"""Fixtures shared by every integration package.

``barbican_noauth``: one real Barbican without Keystone (cached venv,
started once per session) for the kms tests and for the Swift cluster's
kms_keymaster runs alike; each user of it stores its secrets under its own
project id. ``keystone``: one real Keystone; ``barbican_keystone``: a
Barbican behind it (Barbican's keystone pipeline, ``[keystone_authtoken]``),
for the kms tests and the Swift proxy in Keystone mode alike; each user
of them makes its own users and projects. If a server cannot be installed
or started the fixture raises, so the tests using it fail: they never skip.
"""

import pytest

from swiftcrypt.keymasters import handover
from tests.integration.servers.barbican import BarbicanServer
from tests.integration.servers.keystone import KeystoneServer


@pytest.fixture(scope="session")
def barbican_noauth(tmp_path_factory):
    server = BarbicanServer(tmp_path_factory.mktemp("barbican-noauth"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    server = KeystoneServer(tmp_path_factory.mktemp("keystone"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def barbican_keystone(tmp_path_factory, keystone):
    server = BarbicanServer(tmp_path_factory.mktemp("barbican-keystone"), auth="keystone",
                            keystone=keystone)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_program(monkeypatch):
    """Each test starts as a fresh program: kms_keymaster hands the secrets
    it fetched over in os.environ for a re-exec of this process (see
    test_kms_reload.py), which would otherwise stand in for a Barbican a
    later test stops on purpose."""
    monkeypatch.setenv(handover.ENV, "")
