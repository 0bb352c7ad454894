"""The rolling swap of test_swap_keymaster.py (swap.PROCEDURE) with the
root secrets in a real Barbican: Swift's kms_keymaster (castellan) +
encryption swapped for swiftcrypt's kms_keymaster + encryption, proxy A
then B, a second Barbican secret made known then active on both, then A
back to Swift's kms_keymaster, under 16 clients.

The Barbican is the session's one behind Keystone (``barbican_keystone``),
not the one without auth: Swift's kms_keymaster always logs in to Keystone
with a password (castellan's KeystonePassword) before it asks Barbican,
and never names its project in X-Project-Id, which Barbican without auth
requires (it answers 400 "Missing X-Project-Id"). swiftcrypt's
kms_keymaster logs in as the same Keystone user."""

import os

import pytest

from tests.integration.multinode import swap
from tests.integration.swift_cluster import Crypto

# the proxies' Keystone user, owner of the root secrets
USER, PASSWORD, PROJECT = "mn-swiftproxy", "mn-swiftproxy-password", "mn-swift-service"
KEYMASTERS = {"swift": "swift_kms", "swiftcrypt": "kms"}


class KmsCrypto:
    """swap.steps's ``crypto``: ``implementation``'s kms_keymaster +
    encryption with the Barbican secrets ``key_ids`` ({secret id:
    Barbican id}), as the proxies' Keystone user."""

    def __init__(self, keystone, key_ids):
        self.keystone, self.key_ids = keystone, key_ids

    def __call__(self, implementation, secret_ids, active):
        options = {"auth_endpoint": self.keystone.auth_url, "username": USER,
                   "password": PASSWORD, "project_name": PROJECT,
                   "user_domain_name": "Default", "project_domain_name": "Default"}
        for secret_id in secret_ids:
            name = "key_id" if secret_id is None else "key_id_" + secret_id
            options[name] = self.key_ids[secret_id]
        if active is not None:
            options["active_root_secret_id"] = active
        return Crypto(KEYMASTERS[implementation], implementation, options=options)


@pytest.fixture(scope="module")
def crypto(keystone, barbican_keystone):
    keystone.create_user(USER, PASSWORD, PROJECT, roles=("member",))
    session = keystone.session(USER, PASSWORD, project_name=PROJECT)
    return KmsCrypto(keystone, {
        secret_id: barbican_keystone.store_secret(os.urandom(32), session=session,
                                                  name="multinode root %s" % secret_id)
        for secret_id in (None, "new")})


@pytest.fixture(scope="module")
def cluster(crypto):
    with swap.cluster(crypto) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def load(cluster, crypto):
    return swap.run_swap(cluster, swap.steps(crypto))


def test_no_client_visible_error_during_the_swap(load):
    swap.check_no_client_visible_error(load, "rolling swap kms_keymaster")


def test_every_object_reads_back_through_both_implementations(cluster, load):
    swap.check_reads_back_through_every_proxy(cluster, load)
