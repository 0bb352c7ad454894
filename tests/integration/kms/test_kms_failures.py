"""kms_keymaster start-up failures against real servers: each is one
ConfigError line naming the option, the key id and the reason, with the
original error chained, and no secret bytes in the message or the logs."""

import logging
import threading

import pytest

from swiftcrypt.keymasters import kms_keymaster
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager import base as km
from tests.integration.kms.conftest import (
    OTHER_USER,
    PROJECT,
    b64,
    keystone_conf,
    new_secret,
    noauth_conf,
)
from tests.integration.servers import free_port
from tests.integration.servers.barbican import BarbicanServer

HANG_GUARD = 120  # seconds: only so that a regression fails instead of hanging


def start_failure(conf, expected_cause, client_cause=True):
    with pytest.raises(ConfigError) as info:
        kms_keymaster.filter_factory({}, **conf)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert isinstance(err.__cause__, expected_cause), repr(err.__cause__)
    if client_cause:  # the client's own error is kept in the chain
        assert err.__cause__.__cause__ is not None
    return message


def assert_no_secret(text, secret):
    assert b64(secret) not in text
    assert secret.hex() not in text


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_fetch_logs_no_secret(barbican_noauth, all_logs):
    secret = new_secret()
    key_id = barbican_noauth.store_secret(secret, project_id=PROJECT)
    all_logs.clear()
    factory = kms_keymaster.filter_factory({}, **noauth_conf(barbican_noauth, key_id=key_id))
    assert factory(None).root_secrets.get(None) == secret
    assert_no_secret(all_logs.text, secret)
    assert key_id in all_logs.text  # it does say which secret it fetched


def test_unknown_key_id(barbican_noauth):
    key_id = "2f1d7c36-9d0e-4a55-8d0e-000000000404"
    message = start_failure(noauth_conf(barbican_noauth, key_id_new=key_id,
                                        active_root_secret_id="new"), km.SecretNotFound)
    assert message.startswith("key_id_new: secret %s: " % key_id)
    assert "not found" in message and "(404)" in message
    assert barbican_noauth.endpoint in message


def test_malformed_key_id(barbican_noauth):
    message = start_failure(noauth_conf(barbican_noauth, key_id="not-a-uuid"),
                            km.SecretNotFound)
    assert "not-a-uuid" in message and "UUID" in message


def test_other_projects_secret_noauth(barbican_noauth, all_logs):
    secret = new_secret()
    key_id = barbican_noauth.store_secret(secret, project_id="somebody-else")
    all_logs.clear()
    message = start_failure(noauth_conf(barbican_noauth, key_id=key_id), km.AccessDenied)
    assert key_id in message and "(403)" in message
    assert "project %s" % PROJECT in message and "need read access" in message
    assert "ERROR" not in all_logs.text  # barbicanclient's own error line is dropped
    assert_no_secret(all_logs.text, secret)


def test_other_projects_secret_keystone(keystone, barbican_keystone, other_session):
    key_id = barbican_keystone.store_secret(new_secret(), session=other_session)
    message = start_failure(keystone_conf(keystone, key_id=key_id), km.AccessDenied)
    assert key_id in message and "(403)" in message
    assert "project swift-kms" in message and "need read access" in message
    # ... while its owner may read it
    kms_keymaster.filter_factory({}, **keystone_conf(keystone, user=OTHER_USER, key_id=key_id))


@pytest.mark.parametrize("payload, kwargs, reason", [
    (b"\x01" * 16, {}, "bit length is 128"),
    (b"\x02" * 32, {"algorithm": "des"}, "algorithm is des, not AES"),
    (b"\x03" * 32, {"secret_type": "opaque"}, "type is opaque, not symmetric"),
    ("a passphrase stored as text, 44+ chars long...", {"secret_type": "passphrase",
                                                         "algorithm": None},
     "payload is text"),
], ids=["short", "not-aes", "opaque", "text"])
def test_unusable_secret(barbican_noauth, payload, kwargs, reason):
    key_id = barbican_noauth.store_secret(payload, project_id=PROJECT, **kwargs)
    message = start_failure(noauth_conf(barbican_noauth, key_id=key_id), km.BadSecret,
                            client_cause=False)
    assert message.startswith("key_id: secret %s: " % key_id)
    assert reason in message
    assert "AES key of at least 256 bits" in message
    if isinstance(payload, bytes):
        assert_no_secret(message, payload)
    else:
        assert payload not in message


def test_wrong_password(keystone, barbican_keystone, swift_session):
    key_id = barbican_keystone.store_secret(new_secret(), session=swift_session)
    message = start_failure(keystone_conf(keystone, key_id=key_id, password="wrong"),
                            km.AuthenticationFailed)
    assert key_id in message and "(401)" in message
    assert keystone.auth_url in message and "user swift" in message
    assert "wrong" not in message.split("(401)")[0].replace("wrong password", "")


def test_keystone_unreachable(keystone):
    dead = "http://127.0.0.1:%d/v3" % free_port()
    message = start_failure(keystone_conf(keystone, key_id="2f1d7c36-9d0e-4a55-8d0e-"
                                          "000000000001", auth_endpoint=dead, timeout="3"),
                            km.Unreachable)
    assert "Keystone at %s" % dead in message and "timeout 3 s" in message


def test_barbican_without_keystone_credentials(barbican_keystone):
    message = start_failure(noauth_conf(barbican_keystone, key_id="2f1d7c36-9d0e-4a55-8d0e-"
                                        "000000000002"), km.AuthenticationFailed)
    assert "(401)" in message and "auth_type = password" in message


@pytest.fixture
def doomed_barbican(tmp_path):
    server = BarbicanServer(tmp_path / "doomed")
    yield server
    server.stop()


def test_barbican_stopped(doomed_barbican):
    key_id = doomed_barbican.store_secret(new_secret(), project_id=PROJECT)
    doomed_barbican.stop()
    conf = noauth_conf(doomed_barbican, key_id=key_id, timeout="4", retries="2")
    sleeps = []
    with pytest.raises(ConfigError) as info:
        kms_keymaster.fetch_root_secrets(conf, sleep=sleeps.append)
    message = str(info.value)
    assert isinstance(info.value.__cause__, km.Unreachable)
    assert message.startswith("key_id: secret %s: " % key_id)
    assert "Barbican at %s is unreachable" % doomed_barbican.endpoint in message
    assert "timeout 4 s" in message and "(3 attempts)" in message
    assert sleeps == [0.5, 1.0]  # bounded backoff between the attempts


def run_with_guard(func):
    result = {}

    def target():
        try:
            func()
        except BaseException as err:  # noqa: B036 - handed to the test thread
            result["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "start-up hung on a frozen Barbican"
    return result.get("error")


def test_barbican_hung(barbican_noauth):
    key_id = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    conf = noauth_conf(barbican_noauth, key_id=key_id, timeout="2", retries="1")
    barbican_noauth.pause()
    try:
        err = run_with_guard(lambda: kms_keymaster.filter_factory({}, **conf))
    finally:
        barbican_noauth.resume()
    assert isinstance(err, ConfigError), repr(err)
    message = str(err)
    assert isinstance(err.__cause__, km.Unreachable)
    assert message.startswith("key_id: secret %s: " % key_id)
    assert ("Barbican at %s did not answer within the timeout of 2 s" % barbican_noauth.endpoint
            in message)
    assert "(2 attempts)" in message
    # and once it thaws, start-up works again
    kms_keymaster.filter_factory({}, **conf)
