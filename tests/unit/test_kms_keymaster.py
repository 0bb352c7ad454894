"""kms_keymaster with an in-memory key manager: options, start-up errors,
keymaster_config_path, and the shared keymaster behaviour."""

import os

import pytest

from swiftcrypt.keymasters import handover

from swiftcrypt.keymasters import config_keymaster

from swiftcrypt.keymasters import kms_keymaster
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager.base import KeyManager, Secret, SecretNotFound, Unreachable

A = "6e1f0a62-0000-4000-8000-00000000000a"
B = "6e1f0a62-0000-4000-8000-00000000000b"
CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p"}


class FakeKeyManager(KeyManager):
    description = "Fake at memory"

    def __init__(self, secrets=None, failures=None):
        self.secrets = dict(secrets or {})
        self.failures = list(failures or [])
        self.gets = []
        self.closed = False

    def get_secret(self, key_id):
        self.gets.append(key_id)
        if self.failures:
            raise self.failures.pop(0)
        if key_id not in self.secrets:
            raise SecretNotFound(key_id, "not found in Fake (404)")
        return Secret(key_id, self.secrets[key_id], "symmetric", "aes",
                      len(self.secrets[key_id]) * 8, "application/octet-stream")

    def store_secret(self, payload, name=None, algorithm="aes", secret_type="symmetric"):
        key_id = "6e1f0a62-0000-4000-8000-%012d" % len(self.secrets)
        self.secrets[key_id] = payload
        return key_id

    def create_secret(self, name=None, algorithm="aes", bit_length=256):
        return self.store_secret(os.urandom(bit_length // 8))

    def delete_secret(self, key_id):
        del self.secrets[key_id]

    def close(self):
        self.closed = True


@pytest.fixture(autouse=True)
def no_handover(monkeypatch):
    """Each test starts as a fresh program (filter_factory hands its secrets
    over in os.environ for a re-exec; see test_kms_reload.py)."""
    monkeypatch.setenv(handover.ENV, "")


@pytest.fixture
def fake(monkeypatch):
    manager = FakeKeyManager({A: b"a" * 32, B: b"b" * 48})
    monkeypatch.setattr(kms_keymaster, "make_key_manager", lambda conf: manager)
    return manager


def test_filter_is_a_keymaster_with_those_secrets(fake):
    app = kms_keymaster.filter_factory({}, key_id=A, key_id_b=B, **CONN)(lambda e, s: None)
    assert isinstance(app, config_keymaster.KeyMaster)
    assert app.root_secrets.get(None) == b"a" * 32
    assert app.root_secrets.get("b") == b"b" * 48
    assert app.root_secrets.active_id is None
    assert sorted(fake.gets) == [A, B] and fake.closed


@pytest.mark.parametrize("path", ["/v1/a/c/o", "/v1/a"])  # object keys; the account key
def test_keys_match_the_inline_keymaster(fake, path):
    import base64

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    kms = kms_keymaster.filter_factory({}, key_id=A, **CONN)(lambda e, s: e)
    inline = config_keymaster.filter_factory(
        {}, encryption_root_secret=base64.b64encode(b"a" * 32).decode())(lambda e, s: e)
    fetch = kms(dict(env), None)[config_keymaster.CALLBACK]
    assert fetch() == inline(dict(env), None)[config_keymaster.CALLBACK]()
    assert ("account" in fetch()) == (path == "/v1/a")


def test_active_id_and_meta_version(fake):
    app = kms_keymaster.filter_factory({}, key_id=A, key_id_b=B, active_root_secret_id="b",
                                       meta_version_to_write="3", **CONN)(None)
    assert app.root_secrets.active_id == "b" and app.version == "3"


@pytest.mark.parametrize("conf, option, text", [
    ({}, "key_id", "no key_id is configured"),
    ({"key_id": " "}, "key_id", "is empty"),
    ({"key_id": A, "active_root_secret_id": "x"}, "active_root_secret_id", "no key_id_x"),
    ({"key_id_b": B}, "key_id", "active_root_secret_id must name"),
    ({"key_id": A, "meta_version_to_write": "9"}, "meta_version_to_write", "must be one of"),
])
def test_config_errors_before_any_fetch(fake, conf, option, text):
    with pytest.raises(ConfigError) as info:
        kms_keymaster.filter_factory({}, **dict(CONN, **conf))
    assert info.value.option == option and text in str(info.value)
    assert fake.gets == []


def test_fetch_error_names_option_and_key_id(fake):
    missing = "6e1f0a62-0000-4000-8000-000000000404"
    with pytest.raises(kms_keymaster.KmsError) as info:
        kms_keymaster.filter_factory({}, key_id=A, key_id_new=missing, **CONN)
    err = info.value
    assert str(err) == "key_id_new: secret %s: not found in Fake (404)" % missing
    assert err.key_id == missing and isinstance(err.__cause__, SecretNotFound)
    assert isinstance(err, ConfigError)


def test_short_secret_stops_start_up(fake):
    fake.secrets[A] = b"s" * 16
    with pytest.raises(ConfigError) as info:
        kms_keymaster.filter_factory({}, key_id=A, **CONN)
    assert "bit length is 128" in str(info.value) and "ssss" not in str(info.value)


def test_retries_unreachable_then_succeeds():
    manager = FakeKeyManager({A: b"a" * 32}, failures=[Unreachable(A, "down")] * 2)
    sleeps = []
    roots = kms_keymaster.fetch_root_secrets(dict(CONN, key_id=A, retries="2"),
                                             manager=manager, sleep=sleeps.append)
    assert roots.get(None) == b"a" * 32 and sleeps == [0.5, 1.0]


def test_retries_exhausted_says_attempts():
    manager = FakeKeyManager({}, failures=[Unreachable(A, "Fake is unreachable")] * 5)
    with pytest.raises(ConfigError) as info:
        kms_keymaster.fetch_root_secrets(dict(CONN, key_id=A, retries="1"), manager=manager,
                                         sleep=lambda s: None)
    assert str(info.value) == "key_id: secret %s: Fake is unreachable (2 attempts)" % A


def test_keymaster_config_path(fake, tmp_path):
    path = tmp_path / "kms.conf"
    path.write_text("[kms_keymaster]\nkey_id = %s\nauth_type = noauth\n"
                    "barbican_endpoint = http://b\nproject_id = p\n" % A)
    path.chmod(0o600)
    app = kms_keymaster.filter_factory({}, keymaster_config_path=str(path))(None)
    assert app.root_secrets.get(None) == b"a" * 32


def test_keymaster_config_path_clash(fake, tmp_path):
    path = tmp_path / "kms.conf"
    path.write_text("[kms_keymaster]\nkey_id = %s\n" % A)
    with pytest.raises(ConfigError) as info:
        kms_keymaster.filter_factory({}, keymaster_config_path=str(path), key_id=B,
                                     password="x")
    assert "key_id, password" in str(info.value)


def test_real_manager_needs_connection_options():
    with pytest.raises(ConfigError) as info:
        kms_keymaster.filter_factory({}, key_id=A)
    assert info.value.option == "auth_endpoint"


def test_first_use_is_audited_without_material(fake, caplog):
    import logging
    caplog.set_level(logging.INFO)
    kms_keymaster.filter_factory({}, **dict(CONN, key_id=A, key_id_b=B))
    lines = [r.getMessage() for r in caplog.records if "swiftcrypt audit" in r.getMessage()]
    assert len(lines) == 2
    assert any("event=first_use" in line and "secret_id=%s" % A in line and
               "key_id=key_id " in line + " " for line in lines)
    assert any("secret_id=%s" % B in line and "key_id=key_id_b" in line for line in lines)
    assert (b"a" * 32).hex() not in caplog.text and "aaaaaaaa" not in caplog.text
