"""``swiftcrypt keys`` with an in-memory key manager."""

import argparse
import base64
import io

import pytest

from swiftcrypt.cli import keys

from swiftcrypt.keymasters import kms_keymaster
from tests.unit.test_kms_keymaster import A, FakeKeyManager


def parse(argv):
    parser = argparse.ArgumentParser()
    keys.configure(parser)
    return parser.parse_args(argv)


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    status = keys.run(parse(argv), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def fake(monkeypatch):
    manager = FakeKeyManager({A: b"a" * 32})
    monkeypatch.setattr(kms_keymaster, "make_key_manager", lambda conf: manager)
    return manager


def test_store_prints_key_id_lines(fake, tmp_path):
    s1, s2 = b"1" * 32, b"2" * 32
    path = tmp_path / "proxy.conf"
    path.write_text("[filter:km]\nuse = egg:swiftcrypt#keymaster\n"
                    "encryption_root_secret = %s\nencryption_root_secret_x = %s\n"
                    "active_root_secret_id = x\n[filter:kms_keymaster]\nauth_type = noauth\n"
                    "barbican_endpoint = http://b\nproject_id = p\n"
                    % (base64.b64encode(s1).decode(), base64.b64encode(s2).decode()))
    status, out, err = run(["store", "--config", str(path)])
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("# 2 root secret(s) stored in Fake at memory")
    stored = dict(line.split(" = ") for line in lines[1:])
    assert fake.secrets[stored["key_id_x"]] == s2 and fake.secrets[stored["key_id"]] == s1
    assert stored["active_root_secret_id"] == "x"
    assert base64.b64encode(s1).decode() not in out


def test_check_reports_each_id(fake, tmp_path):
    missing = "6e1f0a62-0000-4000-8000-000000000404"
    path = tmp_path / "kms.conf"
    path.write_text("[kms_keymaster]\nauth_type = noauth\nbarbican_endpoint = http://b\n"
                    "project_id = p\nkey_id = %s\nkey_id_b = %s\n" % (A, missing))
    status, out, err = run(["check", "--config", str(path)])
    assert status == 1
    assert out.splitlines() == [
        "key_id: ok: secret %s (AES, 256 bits)" % A,
        "key_id_b: WRONG: secret %s: not found in Fake (404)" % missing]


def test_create_prints_id(fake, monkeypatch):
    monkeypatch.setenv("OS_AUTH_TYPE", "none")
    status, out, err = run(["create"])
    assert status == 0 and len(fake.secrets[out.strip()]) == 32


def test_missing_section_is_usage_error(tmp_path):
    path = tmp_path / "empty.conf"
    path.write_text("[other]\n")
    status, out, err = run(["check", "--config", str(path)])
    assert status == 2 and "no [kms_keymaster]" in err and err.count("\n") == 1
