"""``swiftcrypt keys`` against real Barbican: migrating inline root secrets
into Barbican without re-encrypting, creating and checking secrets."""

import os
import re
import subprocess
import sys
import textwrap

from swiftcrypt.keymasters import config_keymaster

from swiftcrypt.keymasters import kms_keymaster
from tests.integration.kms.conftest import (
    PROJECT,
    SWIFT_USER,
    assert_reads,
    b64,
    new_secret,
    pipeline,
    put_object,
)


def keys(*args, env=None):
    """Run ``swiftcrypt keys ...`` as an operator would; (status, out, err)."""
    proc = subprocess.run(
        [sys.executable, "-m", "swiftcrypt.cli", "keys"] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300,
        env=env if env is not None else dict(os.environ))
    return proc.returncode, proc.stdout, proc.stderr


def write(path, text):
    path.write_text(textwrap.dedent(text))
    path.chmod(0o600)
    return str(path)


def key_id_lines(out):
    return dict(re.findall(r"^(key_id(?:_\w+)?|active_root_secret_id) = (\S+)$", out, re.M))


def test_migrate_with_keys_store(barbican_noauth, tmp_path):
    old, new = new_secret(), new_secret(48)
    km_file = write(tmp_path / "keymaster.conf", """\
        [keymaster]
        encryption_root_secret = %s
        encryption_root_secret_2024 = %s
        active_root_secret_id = 2024
        """ % (b64(old), b64(new)))
    data = tmp_path / "data"
    before = pipeline(data, config_keymaster.filter_factory, {"keymaster_config_path": km_file})
    put_object(before, "/c/a", b"written by keymaster under 2024")
    legacy = pipeline(data, config_keymaster.filter_factory, {"encryption_root_secret": b64(old)})
    put_object(legacy, "/c/b", b"written by keymaster under the unnamed secret", meta="red")

    kms_file = tmp_path / "kms.conf"
    write(kms_file, """\
        [kms_keymaster]
        auth_type = noauth
        barbican_endpoint = %s
        project_id = %s
        """ % (barbican_noauth.endpoint, PROJECT))
    status, out, err = keys("store", "--config", km_file, "--kms-config", str(kms_file))
    assert status == 0, err
    assert b64(old) not in out + err and b64(new) not in out + err
    ids = key_id_lines(out)
    assert set(ids) == {"key_id", "key_id_2024", "active_root_secret_id"}
    assert ids["active_root_secret_id"] == "2024"

    with open(kms_file, "a") as f:
        f.write("".join("%s = %s\n" % item for item in ids.items()))
    after = pipeline(data, kms_keymaster.filter_factory, {"keymaster_config_path": str(kms_file)})
    assert_reads(after, "/c/a", b"written by keymaster under 2024")
    assert_reads(after, "/c/b", b"written by keymaster under the unnamed secret", meta="red")
    put_object(after, "/c/c", b"written by kms_keymaster")
    assert_reads(before, "/c/c", b"written by kms_keymaster")

    status, out, err = keys("check", "--config", str(kms_file))
    assert status == 0, out + err
    assert "key_id: ok: secret %s (AES, 256 bits)" % ids["key_id"] in out
    assert "key_id_2024: ok: secret %s (AES, 384 bits)" % ids["key_id_2024"] in out


def test_store_with_os_environment(keystone, barbican_keystone, tmp_path):
    secret = new_secret()
    km_file = write(tmp_path / "proxy.conf", """\
        [filter:keymaster]
        use = egg:swiftcrypt#keymaster
        encryption_root_secret = %s
        """ % b64(secret))
    user, password, project = SWIFT_USER
    env = dict(os.environ, OS_AUTH_URL=keystone.auth_url, OS_USERNAME=user,
               OS_PASSWORD=password, OS_PROJECT_NAME=project, OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default")
    status, out, err = keys("store", "--config", km_file, env=env)
    assert status == 0, err
    ids = key_id_lines(out)
    # the catalog led it to this Barbican
    assert "Barbican at %s" % barbican_keystone.endpoint in out
    session = keystone.session(user, password, project_name=project)
    fetched = barbican_keystone.client(session=session).secrets.get(ids["key_id"])
    assert fetched.payload == secret
    assert (fetched.secret_type, fetched.algorithm, fetched.bit_length) == ("symmetric", "aes",
                                                                            256)


def test_create_then_use_and_check(barbican_noauth, tmp_path):
    kms_file = tmp_path / "kms.conf"
    write(kms_file, """\
        [filter:kms_keymaster]
        use = egg:swiftcrypt#kms_keymaster
        auth_type = noauth
        barbican_endpoint = %s
        project_id = %s
        """ % (barbican_noauth.endpoint, PROJECT))
    status, out, err = keys("create", "--config", str(kms_file))
    assert status == 0, err
    created = out.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", created)

    short = barbican_noauth.store_secret(b"\x05" * 16, project_id=PROJECT)
    missing = "2f1d7c36-9d0e-4a55-8d0e-000000000404"
    with open(kms_file, "a") as f:
        f.write("key_id = %s\nkey_id_short = %s\nkey_id_gone = %s\n" % (created, short, missing))
    status, out, err = keys("check", "--config", str(kms_file))
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == "key_id: ok: secret %s (AES, 256 bits)" % created
    assert "key_id_gone: WRONG: secret %s: not found in Barbican at %s (404)" % (
        missing, barbican_noauth.endpoint) in lines
    assert any(line.startswith("key_id_short: WRONG: secret %s: not usable" % short)
               and "bit length is 128" in line for line in lines)

    app = pipeline(tmp_path / "data", kms_keymaster.filter_factory, {
        "auth_type": "noauth", "barbican_endpoint": barbican_noauth.endpoint,
        "project_id": PROJECT, "key_id": created})
    put_object(app, "/c/o", b"under a key Barbican generated")
    assert_reads(app, "/c/o", b"under a key Barbican generated")


def test_check_reports_unreachable(tmp_path):
    kms_file = write(tmp_path / "kms.conf", """\
        [kms_keymaster]
        auth_type = noauth
        barbican_endpoint = http://127.0.0.1:9
        project_id = p
        retries = 0
        key_id = 2f1d7c36-9d0e-4a55-8d0e-000000000001
        """)
    status, out, err = keys("check", "--config", kms_file, "--timeout", "3")
    assert status == 1
    assert out.strip() == (
        "key_id: WRONG: secret 2f1d7c36-9d0e-4a55-8d0e-000000000001: Barbican at "
        "http://127.0.0.1:9 is unreachable (connection failed; timeout 3 s)")


def test_config_errors_are_one_line(tmp_path):
    kms_file = write(tmp_path / "kms.conf", """\
        [kms_keymaster]
        auth_type = password
        key_id = 2f1d7c36-9d0e-4a55-8d0e-000000000001
        """)
    status, out, err = keys("check", "--config", kms_file)
    assert status == 2
    assert err.strip().count("\n") == 0 and "auth_endpoint: is required" in err
