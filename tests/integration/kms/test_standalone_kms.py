"""etc/standalone-kms.conf served by ``swiftcrypt serve`` with a real
Barbican: objects round-trip over HTTP and rest encrypted; a bad key id
stops start-up with one line."""

import configparser
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from swiftcrypt.cli.serve import serving_url
from tests.integration.kms.conftest import PROJECT, assert_encrypted_at_rest, new_secret

SAMPLE = Path(__file__).resolve().parents[3] / "etc" / "standalone-kms.conf"
START_GUARD = 120  # seconds: a hang guard, not a timing assertion


def configured(tmp_path, **values):
    """The sample with the [filter:kms_keymaster] values replaced."""
    text = SAMPLE.read_text()
    for option, value in values.items():
        text, count = re.subn(r"(?m)^%s = .*$" % option, "%s = %s" % (option, value), text)
        assert count == 1, option
    path = tmp_path / "standalone-kms.conf"
    path.write_text(text)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    assert parser.get("filter:kms_keymaster", "key_id") == values["key_id"]
    return str(path)


def serve(config, data_dir):
    return subprocess.Popen(
        [sys.executable, "-m", "swiftcrypt.cli", "serve", "--config", config, "--port", "0",
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_serving(proc):
    deadline = time.monotonic() + START_GUARD
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        url = serving_url(line)
        if url:
            return url
    raise AssertionError("swiftcrypt serve did not start:\n" + "".join(lines))


def test_standalone_kms_config_serves(barbican_noauth, tmp_path):
    key_id = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    config = configured(tmp_path, barbican_endpoint=barbican_noauth.endpoint,
                        project_id=PROJECT, key_id=key_id)
    data = tmp_path / "data"
    proc = serve(config, data)
    try:
        url = wait_serving(proc)
        body = b"served through kms_keymaster"
        for path, data_ in (("/v1/AUTH_kms/c", None), ("/v1/AUTH_kms/c/o", body)):
            req = urllib.request.Request(url + path, data=data_ or b"", method="PUT")
            assert urllib.request.urlopen(req, timeout=30).status == 201
        with urllib.request.urlopen(url + "/v1/AUTH_kms/c/o", timeout=30) as resp:
            assert resp.read() == body
        assert not (data / "keymaster.conf").exists()  # no root secret on disk
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        proc.stderr.close()
        proc.stdout.close()
    assert_encrypted_at_rest(data, "/c/o", body)


def test_standalone_kms_bad_key_id_is_one_line(barbican_noauth, tmp_path):
    missing = "2f1d7c36-9d0e-4a55-8d0e-000000000404"
    config = configured(tmp_path, barbican_endpoint=barbican_noauth.endpoint,
                        project_id=PROJECT, key_id=missing)
    proc = serve(config, tmp_path / "data")
    try:
        out, err = proc.communicate(timeout=START_GUARD)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    errors = [line for line in err.splitlines() if "error" in line]
    assert errors == ["swiftcrypt: error: key_id: secret %s: not found in Barbican at %s (404)"
                      % (missing, barbican_noauth.endpoint)], err
