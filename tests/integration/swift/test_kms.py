"""swiftcrypt's kms_keymaster in the proxy, with root secrets in a real Barbican.

The root secrets stored in Barbican are the same bytes the other tests
configure inline, so data written with the Barbican-backed keymaster reads
back with swiftcrypt's and Swift's plain keymasters, and the other way round.
"""

import pytest

from tests.integration.swift.conftest import (
    kms_crypto,
    swift_crypto,
    swiftcrypt_crypto,
)
from tests.integration.swift.test_interchange import BOTH, NEW_SECRET, DataSet


@pytest.fixture(scope="module")
def barbican(kms_secrets):
    """The session's Barbican holding ROOT_SECRET (``key_id``) and
    NEW_SECRET (``key_id_next``)."""
    kms_secrets.store("next", NEW_SECRET, "swift next")
    return kms_secrets


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
