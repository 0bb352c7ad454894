"""Session fixtures: the kms tests' users in the session's Keystone. The
Keystone, the Barbican behind it (``barbican_keystone``) and the Barbican
without auth (``barbican_noauth``) are tests/integration/conftest.py's,
shared with the Swift cluster's runs.

If a server cannot be installed or started the fixture raises, so every
test using it fails: these tests never skip.
"""

import base64
import os

import pytest


PROJECT = "swift-kms"        # no-auth project id of the proxy
OTHER_PROJECT = "someone-else"
SWIFT_USER = ("swift", "swift-user-password", "swift-kms")     # user, password, project
OTHER_USER = ("other", "other-user-password", "other-project")


def new_secret(size=32):
    return os.urandom(size)


def b64(secret):
    return base64.b64encode(secret).decode()


@pytest.fixture(scope="session")
def keystone(keystone):
    """The session's Keystone (tests/integration/conftest.py) with the kms
    tests' users."""
    for user, password, project in (SWIFT_USER, OTHER_USER):
        keystone.create_user(user, password, project, roles=("member",))
    return keystone


@pytest.fixture(scope="session")
def swift_session(keystone):
    user, password, project = SWIFT_USER
    return keystone.session(user, password, project_name=project)


@pytest.fixture(scope="session")
def other_session(keystone):
    user, password, project = OTHER_USER
    return keystone.session(user, password, project_name=project)


def noauth_conf(barbican, project=PROJECT, **extra):
    conf = {"auth_type": "noauth", "barbican_endpoint": barbican.endpoint,
            "project_id": project, "timeout": "10", "retries": "0"}
    conf.update(extra)
    return conf


def keystone_conf(keystone, user=SWIFT_USER, **extra):
    name, password, project = user
    conf = {"auth_endpoint": keystone.auth_url, "username": name, "password": password,
            "user_domain_name": "Default", "project_name": project,
            "project_domain_name": "Default", "timeout": "10", "retries": "0"}
    conf.update(extra)
    return conf


@pytest.fixture
def manager(barbican_noauth):
    """A Barbican key manager (no auth) on the session's Barbican."""
    from swiftcrypt.keymanager import barbican

    km = barbican.BarbicanKeyManager(barbican.BarbicanOptions.from_conf(
        noauth_conf(barbican_noauth)))
    yield km
    km.close()


# -- pipelines over one embedded store ------------------------------------------

ACCOUNT = "/v1/AUTH_kms"


def pipeline(data_dir, factory, conf):
    """``<keymaster filter> encryption store`` over the store in data_dir.

    ``factory`` is a paste filter factory (keymaster or kms_keymaster
    ``filter_factory``); building it fetches the kms secrets.
    """
    from swiftcrypt.middleware import encryption
    from swiftcrypt.store.app import app_factory

    store = app_factory({}, data_dir=str(data_dir))
    return factory({}, **conf)(encryption.filter_factory({})(store))


def raw_store(data_dir):
    from swiftcrypt.store.app import app_factory

    return app_factory({}, data_dir=str(data_dir))


def call(app, method, path, body=None, headers=None):
    from webob import Request

    kwargs = {"method": method, "headers": headers or {}}
    if body is not None:
        kwargs["body"] = body
    return Request.blank(ACCOUNT + path, **kwargs).get_response(app)


def put_object(app, path, body, meta="blue"):
    container = path.rsplit("/", 1)[0]
    assert call(app, "PUT", container).status_int in (201, 202)
    resp = call(app, "PUT", path, body, {"X-Object-Meta-Color": meta})
    assert resp.status_int == 201, resp.status
    return resp.headers["Etag"].strip('"')


def assert_reads(app, path, body, meta="blue"):
    resp = call(app, "GET", path)
    assert resp.status_int == 200, resp.status
    assert resp.body == body
    assert resp.headers.get("X-Object-Meta-Color") == meta


def assert_encrypted_at_rest(data_dir, path, body):
    resp = call(raw_store(data_dir), "GET", path)
    assert resp.status_int == 200
    assert resp.body != body
    assert "X-Object-Sysmeta-Crypto-Body-Meta" in resp.headers
