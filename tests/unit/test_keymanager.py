"""The key-manager interface: root-secret checks, retries, errors,
Barbican option parsing and error mapping (no server)."""

import pytest

from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager import barbican
from swiftcrypt.keymanager.base import (
    AccessDenied,
    BadSecret,
    KeyManagerError,
    Secret,
    SecretNotFound,
    Unreachable,
    call_with_retries,
    check_root_secret,
)

KEY = "6e1f0a62-0000-4000-8000-000000000001"


def secret(payload=b"k" * 32, **kw):
    args = dict(secret_type="symmetric", algorithm="AES", bit_length=len(payload) * 8
                if isinstance(payload, bytes) else None,
                content_type="application/octet-stream")
    args.update(kw)
    return Secret(KEY, payload, **args)


def test_good_secret_returns_bytes():
    assert check_root_secret(secret(b"k" * 64)) == b"k" * 64


@pytest.mark.parametrize("kwargs, reason", [
    ({"payload": b"k" * 31}, "payload is 248 bits long"),
    ({"bit_length": 128}, "bit length is 128"),
    ({"algorithm": "DES"}, "algorithm is DES, not AES"),
    ({"algorithm": None}, "algorithm is unset"),
    ({"secret_type": "opaque"}, "type is opaque, not symmetric"),
    ({"payload": "x" * 64, "content_type": "text/plain"}, "payload is text (text/plain)"),
    ({"payload": None}, "has no payload"),
])
def test_bad_secrets(kwargs, reason):
    payload = kwargs.pop("payload", b"\xaa" * 32)
    with pytest.raises(BadSecret) as info:
        check_root_secret(secret(payload, **kwargs))
    message = str(info.value)
    assert message.startswith("secret %s: not usable as a root secret" % KEY)
    assert reason in message and "\n" not in message
    if isinstance(payload, bytes):
        assert "aa" * 8 not in message and "qqqq" not in message


def test_secret_repr_hides_payload():
    assert "kkkk" not in repr(secret())


def test_error_is_one_line():
    err = KeyManagerError(KEY, "line one\nline two")
    assert str(err) == "secret %s: line one line two" % KEY


def test_retries_only_retryable_with_bounded_backoff():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        raise Unreachable(KEY, "down")

    with pytest.raises(Unreachable):
        call_with_retries(flaky, retries=6, backoff=0.5, max_backoff=5, sleep=sleeps.append)
    assert len(calls) == 7
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 5, 5]

    calls.clear()

    def missing():
        calls.append(1)
        raise SecretNotFound(KEY, "not found")

    with pytest.raises(SecretNotFound):
        call_with_retries(missing, retries=3, sleep=sleeps.append)
    assert len(calls) == 1


def test_retry_then_success():
    results = iter([Unreachable(KEY, "down"), "ok"])

    def once():
        item = next(results)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retries(once, retries=1, sleep=lambda s: None) == "ok"


# -- Barbican options ----------------------------------------------------------

PASSWORD = {"auth_endpoint": "http://ks:5000/v3", "username": "swift", "password": "pw",
            "user_domain_name": "Default", "project_name": "p",
            "project_domain_name": "Default"}


def test_password_options():
    opts = barbican.BarbicanOptions.from_conf(dict(PASSWORD, timeout="2.5", retries="1"))
    assert (opts.auth_type, opts.timeout, opts.retries) == ("password", 2.5, 1)
    assert opts.project == "p" and "pw" not in repr(opts)


@pytest.mark.parametrize("conf, option", [
    ({"auth_type": "noauth", "project_id": "p"}, "barbican_endpoint"),
    ({"auth_type": "noauth", "barbican_endpoint": "http://b"}, "project_id"),
    ({"auth_type": "kerberos"}, "auth_type"),
    (dict(PASSWORD, auth_endpoint=""), "auth_endpoint"),
    (dict(PASSWORD, password=""), "password"),
    (dict(PASSWORD, user_domain_name=""), "user_domain_name"),
    (dict(PASSWORD, project_domain_name=""), "project_domain_name"),
    (dict(PASSWORD, timeout="soon"), "timeout"),
    (dict(PASSWORD, retries="-1"), "retries"),
    (dict(PASSWORD, api_class="some.Other"), "api_class"),
])
def test_bad_options(conf, option):
    with pytest.raises(ConfigError) as info:
        barbican.BarbicanOptions.from_conf(conf)
    assert info.value.option == option


def test_swift_api_class_accepted():
    barbican.BarbicanOptions.from_conf(dict(
        PASSWORD, api_class="castellan.key_manager.barbican_key_manager.BarbicanKeyManager",
        reauthenticate="changeme"))


def test_options_from_env():
    conf = barbican.options_from_env({
        "OS_AUTH_URL": "http://ks/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p",
        "OS_TENANT_NAME": "t", "OS_AUTH_TYPE": "v3password", "BARBICAN_ENDPOINT": "http://b"})
    assert conf == {"auth_endpoint": "http://ks/v3", "username": "u", "password": "p",
                    "project_name": "t", "auth_type": "password",
                    "barbican_endpoint": "http://b"}
    assert barbican.options_from_env({"OS_AUTH_TYPE": "none"}) == {"auth_type": "noauth"}


# -- error mapping ---------------------------------------------------------------

@pytest.fixture
def manager():
    opts = barbican.BarbicanOptions.from_conf(
        {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "proj",
         "timeout": "3"})
    return barbican.BarbicanKeyManager(opts)


def test_translate_client_errors(manager):
    from barbicanclient import exceptions as bexc
    from keystoneauth1 import exceptions as kexc

    err = manager._translate(bexc.HTTPClientError("Not Found", 404), KEY, "read")
    assert isinstance(err, SecretNotFound) and "Barbican at http://b:9311 (404)" in str(err)
    err = manager._translate(bexc.HTTPClientError("Forbidden", 403), KEY, "read")
    assert isinstance(err, AccessDenied)
    assert "project proj" in str(err) and "need read access" in str(err)
    err = manager._translate(kexc.ConnectTimeout("x"), KEY, "read")
    assert isinstance(err, Unreachable) and "timeout of 3 s" in str(err)
    err = manager._translate(kexc.ConnectFailure("x"), KEY, "read")
    assert "is unreachable" in str(err) and "http://b:9311" in str(err)
    assert manager._translate(RuntimeError("x"), KEY, "read") is None


def test_barbicanclient_error_logs_are_dropped(manager, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    logging.getLogger("barbicanclient.client").error("4xx Client error: Forbidden")
    assert "Forbidden" not in caplog.text


def test_one_retry_policy_for_every_key_manager_caller():
    # kms_keymaster, account_secrets and `swiftcrypt keys` all call without
    # their own back-off: the policy is call_with_retries' defaults
    import inspect

    from swiftcrypt.keymanager import base
    from swiftcrypt.keymanager.base import Unreachable
    sleeps = []

    def down():
        raise Unreachable(None, "down")

    with pytest.raises(Unreachable):
        call_with_retries(down, retries=6, sleep=sleeps.append)
    assert sleeps == [base.BACKOFF * 2 ** i for i in range(4)] + [base.MAX_BACKOFF] * 2
    from swiftcrypt.cli import keys
    from swiftcrypt.keymasters import account_secrets, kms_keymaster
    for module in (kms_keymaster, account_secrets, keys):
        assert "backoff=" not in inspect.getsource(module)
