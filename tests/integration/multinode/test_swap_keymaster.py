"""Swift's keymaster + encryption swapped for swiftcrypt's on a live
multi-node cluster, one proxy at a time, then a root secret rotation on
both, then one proxy back to Swift's filters, under 16 clients
(swap.PROCEDURE), with the root secrets in the proxies' config."""

import os

import pytest

from tests.integration.multinode import swap
from tests.integration.swift_cluster import Crypto

SECRETS = {None: os.urandom(32), "new": os.urandom(32)}


def crypto(implementation, secret_ids, active):
    """``implementation``'s keymaster + encryption with ``secret_ids`` of SECRETS."""
    return Crypto(implementation, implementation, {i: SECRETS[i] for i in secret_ids},
                  active=active)


@pytest.fixture(scope="module")
def cluster():
    with swap.cluster(crypto) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def load(cluster):
    return swap.run_swap(cluster, swap.steps(crypto))


def test_no_client_visible_error_during_the_swap(load):
    swap.check_no_client_visible_error(load, "rolling swap keymaster")


def test_every_object_reads_back_through_both_implementations(cluster, load):
    swap.check_reads_back_through_every_proxy(cluster, load)
