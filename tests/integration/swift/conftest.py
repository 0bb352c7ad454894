"""Fixtures for the tests inside a real one-node Swift cluster.

One cluster serves the whole session (``cluster``); each test asks for the
proxy pipeline it needs (``swiftcrypt`` / ``swift_crypto`` or
``cluster.use(...)``), and the proxy is restarted only when that changes.
Every plaintext body and user metadata value written while encrypting is
recorded in ``plaintexts`` so the at-rest scan can look for all of them.
If the cluster cannot start, the tests error out: they never skip.
"""

import glob
import os
import uuid

import pytest
import swiftclient

from tests.integration.swift_cluster import Crypto, SwiftCluster



def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.integration)

# One root secret for the session, shared by Swift's keymaster and ours.
ROOT_SECRET = os.urandom(32)


def swiftcrypt_crypto(**kw):
    kw.setdefault("secrets", {None: ROOT_SECRET})
    return Crypto("swiftcrypt", "swiftcrypt", **kw)


def swift_crypto(**kw):
    kw.setdefault("secrets", {None: ROOT_SECRET})
    return Crypto("swift", "swift", **kw)


# kms_keymaster: the same root secret, held in the session's Barbican
KMS_PROJECT = "swift-kms-project"


class KmsSecrets:
    """Root secrets stored in a Barbican (no auth) under ``KMS_PROJECT``;
    ``key_ids`` maps a secret id (None for ``key_id``) to the Barbican id."""

    def __init__(self, server, project=KMS_PROJECT):
        self.server = server
        self.endpoint = server.endpoint
        self.project = project
        self.key_ids = {}

    def store(self, secret_id, secret, name):
        if secret_id not in self.key_ids:
            self.key_ids[secret_id] = self.server.store_secret(
                secret, project_id=self.project, name=name)
        return self.key_ids[secret_id]


def kms_crypto(barbican, secret_ids=(None,), active=None):
    """swiftcrypt's kms_keymaster (root secrets ``secret_ids`` of the
    KmsSecrets ``barbican``) and encryption."""
    options = {"auth_type": "noauth", "barbican_endpoint": barbican.endpoint,
               "project_id": barbican.project}
    for secret_id in secret_ids:
        name = "key_id" if secret_id is None else "key_id_" + secret_id
        options[name] = barbican.key_ids[secret_id]
    if active is not None:
        options["active_root_secret_id"] = active
    return Crypto("kms", "swiftcrypt", options=options)


@pytest.fixture(scope="session")
def kms_secrets(barbican_noauth):
    """ROOT_SECRET stored in the shared Barbican (tests/integration/conftest.py)."""
    secrets = KmsSecrets(barbican_noauth)
    secrets.store(None, ROOT_SECRET, "swift root")
    return secrets


class Plaintexts:
    """What must never be found at rest."""

    def __init__(self):
        self.bodies = []
        self.meta_values = []

    def body(self, data):
        if len(data) >= 16:
            self.bodies.append(bytes(data))
        return data

    def meta(self, value):
        if isinstance(value, str):
            value = value.encode("utf-8")
        if len(value) >= 8:
            self.meta_values.append(value)
        return value.decode("utf-8")


def unique(prefix="c"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def make_body(tag, size=4096):
    """A recognisable, non-repeating-at-16-byte-scale plaintext body."""
    head = ("swiftcrypt-plaintext-%s-" % tag).encode()
    out = bytearray()
    i = 0
    while len(out) < size:
        out += head + str(i).encode() + b";"
        i += 1
    return bytes(out[:size])


@pytest.fixture(scope="session")
def cluster():
    cl = SwiftCluster()
    try:
        cl.start(swiftcrypt_crypto())
    except BaseException:
        cl.stop()
        raise
    yield cl
    cl.stop()


@pytest.fixture(scope="session")
def plaintexts():
    return Plaintexts()


@pytest.fixture
def swiftcrypt(cluster):
    """The cluster with swiftcrypt's keymaster and encryption."""
    return cluster.use(swiftcrypt_crypto())


def connect(cluster, account="test", user="tester"):
    from tests.integration.swift_cluster import USERS

    return swiftclient.Connection(
        cluster.auth_url, "%s:%s" % (account, user), USERS[(account, user)][0],
        retries=0, timeout=60)


@pytest.fixture
def crypto_cluster(swiftcrypt):
    """The cluster ``conn`` and ``http`` talk to; a module overrides it to
    have them use another pipeline."""
    return swiftcrypt


# swiftcrypt encrypting account and container metadata too
META_OPTIONS = {"encrypt_account_metadata": "true", "encrypt_container_metadata": "true"}


@pytest.fixture
def meta_cluster(cluster):
    """The cluster with swiftcrypt and META_OPTIONS."""
    return cluster.use(swiftcrypt_crypto(encryption_options=META_OPTIONS))


def db_bytes(cluster, kind):
    """Every ``kind`` ("account", "container") DB file of the cluster, and
    its journals, as one blob."""
    dbs = glob.glob(os.path.join(cluster.devices, "*", kind + "s", "**", "*.db"),
                    recursive=True)
    assert dbs
    content = b""
    for path in dbs:
        for name in (path, path + ".pending", path + "-wal", path + "-journal"):
            if os.path.exists(name):
                with open(name, "rb") as fh:
                    content += fh.read()
    return content


def through(cluster, crypto, func):
    """``func(connection)`` through a proxy running ``crypto`` (restarted
    if need be), the connection closed after."""
    c = connect(cluster.use(crypto))
    try:
        return func(c)
    finally:
        c.close()


@pytest.fixture
def conn(crypto_cluster):
    c = connect(crypto_cluster)
    yield c
    c.close()


@pytest.fixture
def container(conn):
    name = unique("cont")
    conn.put_container(name)
    return name


class Http:
    """Plain HTTP (requests) to the cluster as one tempauth user."""

    def __init__(self, cluster, account="test", user="tester"):
        import requests

        self.storage_url, self.token = cluster.auth(account, user)
        self.session = requests.Session()

    def url(self, *parts):
        from urllib.parse import quote

        return "/".join([self.storage_url] + [quote(p.encode("utf-8"), safe="")
                                              for p in parts])

    def request(self, method, *parts, headers=None, **kw):
        hdrs = {"X-Auth-Token": self.token}
        hdrs.update(headers or {})
        kw.setdefault("timeout", 60)
        return self.session.request(method, self.url(*parts), headers=hdrs, **kw)


@pytest.fixture
def http(crypto_cluster):
    h = Http(crypto_cluster)
    yield h
    h.session.close()
