"""Encrypted container user metadata (encrypt_container_metadata): what is
container-only - the names kept plain, the options, CORS. What accounts
share is in test_db_metadata.py."""

import pytest

from swiftcrypt import dbmeta
from swiftcrypt.encryption import filter_factory as encryption_factory
from swiftcrypt.errors import ConfigError
from tests.support.dbstore import DbStore
from tests.support.pipelines import call
from tests.unit.test_db_metadata import LEVELS, pipeline

LEVEL = LEVELS[0]
CONTAINER = LEVEL.path
CRYPTO = LEVEL.crypto
assert LEVEL.kind == "container"


@pytest.fixture
def store():
    return DbStore("container", CONTAINER)


@pytest.mark.parametrize("name", [
    "Temp-Url-Key", "Temp-Url-Key-2", "Quota-Bytes", "Quota-Count", "Web-Index", "Web-Error",
    "Web-Listings", "Web-Listings-Css", "Web-Listings-Label", "Web-Directory-Type",
    "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Access-Control-Max-Age"])
def test_operational_metadata_stays_plain(store, name):
    app = pipeline(LEVEL, store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-" + name: "10"})
    assert store.meta["X-Container-Meta-" + name] == "10"
    assert CRYPTO + name not in store.meta
    assert call(app, CONTAINER, "HEAD").headers["X-Container-Meta-" + name] == "10"


def test_default_plain_names_are_what_swift_reads():
    names = dbmeta.PlainNames()
    for name in ("temp-url-key", "TEMP-URL-KEY-2", "quota-bytes", "quota-count", "web-index",
                 "web-listings-label", "access-control-allow-origin", "access-control-max-age"):
        assert name in names
    for name in ("color", "temp-url-key-3", "quota", "webindex", "access-control"):
        assert name not in names


def test_plain_container_metadata_adds_names(store):
    app = pipeline(LEVEL, store, plain_container_metadata="Owner, build-*")
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Owner": "me",
                                          "X-Container-Meta-Build-Id": "7",
                                          "X-Container-Meta-Secret": "s3cr3t-value"})
    assert store.meta["X-Container-Meta-Owner"] == "me"
    assert store.meta["X-Container-Meta-Build-Id"] == "7"
    assert "X-Container-Meta-Secret" not in store.meta
    assert "temp-url-key" in dbmeta.PlainNames.from_option("owner")


@pytest.mark.parametrize("conf", [
    {"plain_container_metadata": "a*b"}, {"plain_container_metadata": "*"},
    {"encrypt_container_metadata": "maybe"}])
def test_bad_options_fail_at_start_up(conf):
    with pytest.raises(ConfigError) as err:
        encryption_factory({}, **conf)
    assert err.value.option == next(iter(conf))


def test_decrypted_names_are_exposed_to_cors_clients(store):
    app = pipeline(LEVEL, store)
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Secret": "s"})
    resp = call(app, CONTAINER, "GET", headers={"Origin": "http://x"})
    exposed = resp.headers["Access-Control-Expose-Headers"]
    assert "x-container-meta-secret" in exposed and "etag" in exposed
    resp = call(app, CONTAINER, "GET")
    assert "Access-Control-Expose-Headers" not in resp.headers
