"""The rolling swap of test_swap_keymaster.py with the root secrets in a
real Barbican behind a real Keystone: Swift's kms_keymaster (castellan) +
encryption swapped for swiftcrypt's kms_keymaster + encryption, proxy A
then B (each knowing a second Barbican secret from then on), that secret
made active on both, then A back to Swift's kms_keymaster, under 16
clients."""

import os

import pytest

from tests.integration.multinode import swap
from tests.integration.swift_cluster import Crypto, SwiftCluster

USER, PASSWORD, PROJECT = "mn-swiftproxy", "mn-swiftproxy-password", "mn-swift-service"


def kms(keymaster, encryption, keystone, key_ids, active=None):
    """Crypto for ``keymaster`` (swift_kms or kms) with the Barbican secrets
    ``key_ids`` ({secret id: Barbican id}), as the proxy's Keystone user."""
    options = {"username": USER, "password": PASSWORD, "project_name": PROJECT,
               "user_domain_name": "Default", "project_domain_name": "Default",
               "auth_endpoint": keystone.auth_url}
    for secret_id, key_id in key_ids.items():
        options["key_id" if secret_id is None else "key_id_" + secret_id] = key_id
    if active is not None:
        options["active_root_secret_id"] = active
    return Crypto(keymaster, encryption, options=options)


@pytest.fixture(scope="module")
def deployment(keystone, barbican_keystone):
    keystone.create_user(USER, PASSWORD, PROJECT, roles=("admin",))
    session = keystone.session(USER, PASSWORD, project_name=PROJECT)
    key_ids = {sid: barbican_keystone.store_secret(os.urandom(32), session=session,
                                                   name="multinode root %s" % sid)
               for sid in (None, "new")}
    old = {None: key_ids[None]}
    # five reloads, not seven (a Keystone-authenticated reload costs ~15 s
    # here): the new secret is known from the swap on, active only once
    # every proxy knows it (test_swap_keymaster.py makes it known apart)
    steps = (
        ("proxy", "swiftcrypt's kms_keymaster, new secret known",
         kms("kms", "swiftcrypt", keystone, key_ids)),
        ("proxy2", "swiftcrypt's kms_keymaster, new secret known",
         kms("kms", "swiftcrypt", keystone, key_ids)),
        ("proxy", "new secret active", kms("kms", "swiftcrypt", keystone, key_ids, "new")),
        ("proxy2", "new secret active", kms("kms", "swiftcrypt", keystone, key_ids, "new")),
        ("proxy", "back to Swift's kms_keymaster",
         kms("swift_kms", "swift", keystone, key_ids, "new")),
    )
    cluster = SwiftCluster(nodes=3, proxies=2)
    try:
        cluster.start(kms("swift_kms", "swift", keystone, old))
        yield cluster, steps
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def load(deployment):
    cluster, steps = deployment
    return swap.run_swap(cluster, steps)


def test_no_client_visible_error_during_the_swap(load):
    swap.check_no_client_visible_error(load)


def test_every_object_reads_back_through_both_implementations(deployment, load):
    swap.check_reads_back_through_every_proxy(
        deployment[0], load, {"proxy": "swift", "proxy2": "swiftcrypt"})
