"""A real Swift proxy (and account, container and object servers) with
swiftcrypt's keymaster and encryption, every server in an interpreter that
refuses MD5 without ``usedforsecurity=False`` (tests/fips's guard), as on a
FIPS host: objects are stored, listed, read (ranges too) and updated."""

import os

import pytest

from tests.fips.test_fips import FIPS_ERROR, fips_env
from tests.integration.swift.conftest import connect, swiftcrypt_crypto
from tests.integration.swift_cluster import SwiftCluster


@pytest.fixture(scope="module")
def fips_cluster():
    cluster = SwiftCluster(env=fips_env())
    try:
        cluster.start(swiftcrypt_crypto(encryption_options={
            "verify_body": "true", "encrypt_container_metadata": "true"}))
        yield cluster
    finally:
        cluster.stop()


def test_swiftcrypt_in_a_swift_proxy_on_a_fips_host(fips_cluster):
    conn = connect(fips_cluster)
    try:
        body = os.urandom(200000)
        conn.put_container("fips", headers={"X-Container-Meta-Team": "blue"})
        etag = conn.put_object("fips", "o", body, headers={"X-Object-Meta-Color": "red"})
        headers, got = conn.get_object("fips", "o")
        assert got == body and headers["etag"] == etag
        assert headers["x-object-meta-color"] == "red"
        _headers, ranged = conn.get_object("fips", "o", headers={"Range": "bytes=100-4099"})
        assert ranged == body[100:4100]
        conn.post_object("fips", "o", headers={"X-Object-Meta-Color": "blue"})
        assert conn.head_object("fips", "o")["x-object-meta-color"] == "blue"
        _headers, listing = conn.get_container("fips")
        assert [(e["name"], e["hash"]) for e in listing] == [("o", etag)]
        assert conn.head_container("fips")["x-container-meta-team"] == "blue"
    finally:
        conn.close()
    for name in ("proxy", "account", "container", "object"):
        assert FIPS_ERROR not in fips_cluster.log_tail(name, 100000), name
