"""Swift's keymaster + encryption swapped for swiftcrypt's on a live
multi-node cluster, one proxy at a time, then a root secret rotation on
both, then one proxy back to Swift's filters, under 16 clients."""

import os

import pytest

from tests.integration.multinode import swap
from tests.integration.swift_cluster import Crypto, SwiftCluster

OLD, NEW = os.urandom(32), os.urandom(32)
BOTH = {None: OLD, "new": NEW}

# the operator's steps, in order (doc/deployment.md): swap A then B;
# rotation = the new secret known on every proxy first, active after
STEPS = (
    ("proxy", "swiftcrypt's filters", Crypto("swiftcrypt", "swiftcrypt", {None: OLD})),
    ("proxy2", "swiftcrypt's filters", Crypto("swiftcrypt", "swiftcrypt", {None: OLD})),
    ("proxy", "new secret known", Crypto("swiftcrypt", "swiftcrypt", BOTH)),
    ("proxy2", "new secret known", Crypto("swiftcrypt", "swiftcrypt", BOTH)),
    ("proxy", "new secret active", Crypto("swiftcrypt", "swiftcrypt", BOTH, active="new")),
    ("proxy2", "new secret active", Crypto("swiftcrypt", "swiftcrypt", BOTH, active="new")),
    ("proxy", "back to Swift's filters", Crypto("swift", "swift", BOTH, active="new")),
)


@pytest.fixture(scope="module")
def cluster():
    cluster = SwiftCluster(nodes=3, proxies=2)
    try:
        cluster.start(Crypto("swift", "swift", {None: OLD}))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def load(cluster):
    return swap.run_swap(cluster, STEPS)


def test_no_client_visible_error_during_the_swap(load):
    swap.check_no_client_visible_error(load)


def test_every_object_reads_back_through_both_implementations(cluster, load):
    swap.check_reads_back_through_every_proxy(
        cluster, load, {"proxy": "swift", "proxy2": "swiftcrypt"})
