"""Encrypted container user metadata (encrypt_container_metadata): what is
container-only - the names kept plain, the options, CORS. What accounts
share is in test_db_metadata.py."""

import pytest

from webob import Response

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.crypto import account_container_metadata as acmeta
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.common.errors import ConfigError
from tests.support.dbstore import DbStore
from tests.support.pipelines import call
from tests.unit.test_account_keys import FakeAccountKeyManager
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
    names = acmeta.PlainNames()
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
    assert "temp-url-key" in acmeta.PlainNames.from_option("owner")


def test_plain_name_patterns_match_underscore_spellings(store):
    # the client's header is X-Container-Meta-Build_Id or -Build-Id: the
    # environ cannot tell them apart, so neither can the pattern
    app = pipeline(LEVEL, store, plain_container_metadata="build_id, run_*")
    call(app, CONTAINER, "POST", headers={"X-Container-Meta-Build-Id": "7",
                                          "X-Container-Meta-Run-Tag": "x"})
    assert store.meta["X-Container-Meta-Build-Id"] == "7"
    assert store.meta["X-Container-Meta-Run-Tag"] == "x"


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


# ------------------------------------------------------------ account_keymaster

def _account_keymaster_pipeline(km, store, **conf):
    conn = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p",
            "retries": "0", "cache_ttl": "0"}
    secrets, settings = account_keymaster.make_secrets(dict(conn, **conf), manager=km)
    encryption = encryption_factory({}, encrypt_container_metadata="true")(store)
    return account_keymaster.AccountKeyMaster(encryption, secrets, settings)


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_account_keymaster_container_write_makes_the_first_secret(method):
    # a container write may be an account's first encrypting write, as an
    # object write or an account write may
    km = FakeAccountKeyManager()
    store = DbStore("container", "/v1/AUTH_new/c")
    app = _account_keymaster_pipeline(km, store)
    resp = call(app, "/v1/AUTH_new/c", method, headers={"X-Container-Meta-Color": "blue"})
    assert resp.status_int == 204, resp.text
    assert [name for name, _p, _c in km.secrets.values()] == ["swiftcrypt-account:AUTH_new"]
    assert "X-Container-Meta-Color" not in store.meta
    assert call(app, "/v1/AUTH_new/c", "HEAD").headers["X-Container-Meta-Color"] == "blue"


def test_account_keymaster_container_write_without_creation_is_403(caplog):
    km = FakeAccountKeyManager()
    store = DbStore("container", "/v1/AUTH_new/c")
    app = _account_keymaster_pipeline(km, store, create_account_secrets="false")
    resp = call(app, "/v1/AUTH_new/c", "POST", headers={"X-Container-Meta-Color": "blue"})
    assert resp.status_int == 403
    assert "no encryption root secret" in resp.text
    assert store.meta == {} and km.secrets == {}


def test_account_keymaster_denied_container_write_makes_no_secret():
    km = FakeAccountKeyManager()
    store = DbStore("container", "/v1/AUTH_new/c")
    app = _account_keymaster_pipeline(km, store)
    resp = call(app, "/v1/AUTH_new/c", "POST", headers={"X-Container-Meta-Color": "blue"},
                **{"swift.authorize": lambda req: Response(status=403, body=b"denied")})
    assert resp.status_int == 403
    assert km.secrets == {} and store.meta == {}
