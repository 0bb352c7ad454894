"""swiftcrypt's kms_keymaster in the proxy, with root secrets in a real Barbican.

The root secrets stored in Barbican are the same bytes the other tests
configure inline, so data written with the Barbican-backed keymaster reads
back with swiftcrypt's and Swift's plain keymasters, and the other way round.
"""

import os

import pytest

from tests.integration.servers.barbican import BarbicanServer
from tests.integration.swift.conftest import ROOT_SECRET, swift_crypto, swiftcrypt_crypto
from tests.integration.swift.test_interchange import BOTH, NEW_SECRET, DataSet
from tests.integration.swift_cluster import Crypto

PROJECT = "swift-kms-project"


@pytest.fixture(scope="module")
def barbican(cluster):
    server = BarbicanServer(os.path.join(cluster.root, "barbican"))
    try:
        server.key_ids = {
            None: server.store_secret(ROOT_SECRET, project_id=PROJECT, name="swift root"),
            "next": server.store_secret(NEW_SECRET, project_id=PROJECT, name="swift next"),
        }
        yield server
    finally:
        server.stop()


def kms_crypto(barbican, secret_ids=(None,), active=None):
    options = {"auth_type": "noauth", "barbican_endpoint": barbican.endpoint,
               "project_id": PROJECT}
    for secret_id in secret_ids:
        name = "key_id" if secret_id is None else "key_id_" + secret_id
        options[name] = barbican.key_ids[secret_id]
    if active is not None:
        options["active_root_secret_id"] = active
    return Crypto("kms", "swiftcrypt", options=options)


def test_kms_keymaster_interchanges_with_inline_keymasters(cluster, barbican, plaintexts):
    cluster.use(kms_crypto(barbican))
    data = DataSet("kms", plaintexts).write(cluster).check(cluster)
    cluster.use(swiftcrypt_crypto())
    data.check(cluster)
    cluster.use(swift_crypto())
    data.check(cluster)
    other = DataSet("to-kms", plaintexts).write(cluster)
    cluster.use(kms_crypto(barbican))
    other.check(cluster)


def test_kms_keymaster_rotation(cluster, barbican, plaintexts):
    cluster.use(kms_crypto(barbican))
    old = DataSet("kms-rot-old", plaintexts).write(cluster)
    cluster.use(kms_crypto(barbican, secret_ids=(None, "next"), active="next"))
    new = DataSet("kms-rot-new", plaintexts).write(cluster).check(cluster)
    old.check(cluster)
    assert {k.get("secret_id") for k in new.key_paths(cluster).values()} == {"next"}
    # Swift's keymaster, given the same secrets inline, reads both generations
    cluster.use(swift_crypto(secrets=BOTH, active="next"))
    old.check(cluster)
    new.check(cluster)
