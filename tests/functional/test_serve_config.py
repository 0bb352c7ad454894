"""`swiftcrypt serve --config` with a copy of etc/standalone.conf: what the
operator writes is obeyed or refused with one line, never silently
overridden by the values serve supplies; binding beyond loopback is
decided by what the pipeline's filters are, not by their names."""

import base64
import os

import requests

from tests.functional.conftest import STANDALONE, secret_path, start_server
from tests.functional.test_serve_cli import _one_error_line, _run_refused

KEYMASTER_LINE = "keymaster_config_path = %(keymaster_config_path)s\n"
DATA_DIR_LINE = "data_dir = %(data_dir)s\n"


def _copy(tmp_path, old, new):
    text = open(STANDALONE).read()
    assert old in text
    conf = tmp_path / "mine.conf"
    conf.write_text(text.replace(old, new))
    return str(conf)


def _secret_file(path, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"[keymaster]\nencryption_root_secret = %s\n"
             % base64.b64encode(os.urandom(32)))
    os.close(fd)
    os.chmod(path, mode)
    return str(path)


def test_plain_keymaster_config_path_line_is_the_secret_used(tmp_path):
    mine = _secret_file(tmp_path / "my-keymaster.conf")
    conf = _copy(tmp_path, KEYMASTER_LINE, "keymaster_config_path = %s\n" % mine)
    data = tmp_path / "data"
    for run in ("first", "again"):
        srv = start_server(data, tmp_path / ("%s.log" % run), "--config", conf)
        try:
            if run == "first":
                assert requests.put(srv.url + "/v1/a/c").status_code == 201
                assert requests.put(srv.url + "/v1/a/c/o", data=b"body").status_code == 201
            assert requests.get(srv.url + "/v1/a/c/o").content == b"body"
        finally:
            assert srv.stop() == 0
        # serve neither generated nor read a secret of its own
        assert not (data / "keymaster.conf").exists()
        assert "generated a new root secret" not in srv.log_text()


def test_group_readable_keymaster_file_named_any_way_is_refused(tmp_path):
    mine = _secret_file(tmp_path / "my-keymaster.conf", 0o640)
    for line in ("keymaster_config_path = %s\n", "set keymaster_config_path = %s\n"):
        conf = _copy(tmp_path, KEYMASTER_LINE, line % mine)
        status, lines = _run_refused(tmp_path, "--config", conf)
        assert status == 2
        error = _one_error_line(lines)
        assert mine in error and "group or others" in error


def test_plain_data_dir_line_is_the_data_dir(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    conf = _copy(tmp_path, DATA_DIR_LINE, "data_dir = %s\n" % elsewhere)
    srv = start_server(None, tmp_path / "d.log", "--config", conf,
                       env={"SWIFTCRYPT_DATA_DIR": ""})
    try:
        assert requests.put(srv.url + "/v1/a/c").status_code == 201
        assert (elsewhere / "listing.db").exists()
        # the generated secret is serve's own, never beside the data
        assert secret_path(tmp_path).exists() and not (elsewhere / "keymaster.conf").exists()
        assert "data dir %s" % elsewhere in srv.log_text()
    finally:
        assert srv.stop() == 0


def test_data_dir_line_and_a_different_data_dir_option_is_one_line(tmp_path):
    conf = _copy(tmp_path, DATA_DIR_LINE, "data_dir = %s\n" % (tmp_path / "elsewhere"))
    status, lines = _run_refused(tmp_path, "--config", conf)  # --data-dir tmp/data
    assert status == 2
    error = _one_error_line(lines)
    assert "data_dir" in error and "--data-dir" in error
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "data").exists()


def test_filter_named_auth_does_not_open_a_public_port(tmp_path):
    conf = tmp_path / "noauth.conf"
    text = open(STANDALONE).read()
    assert "\npipeline = gatekeeper " in text
    text = text.replace("\npipeline = gatekeeper ", "\npipeline = noauth gatekeeper ")
    conf.write_text(text + "\n[filter:noauth]\n"
                    "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n")
    status, lines = _run_refused(tmp_path, "--config", str(conf), "--host", "0.0.0.0")
    assert status == 2
    error = _one_error_line(lines)
    assert "0.0.0.0" in error and "--allow-unauthenticated" in error
    srv = start_server(tmp_path / "data", tmp_path / "open.log", "--config", str(conf),
                       "--host", "0.0.0.0", "--allow-unauthenticated")
    try:
        port = srv.url.rsplit(":", 1)[1]
        assert requests.put("http://127.0.0.1:%s/v1/a/c" % port).status_code == 201
    finally:
        assert srv.stop() == 0


def test_keymaster_config_path_line_and_a_different_secret_file_is_one_line(tmp_path):
    mine = _secret_file(tmp_path / "my-keymaster.conf")
    conf = _copy(tmp_path, KEYMASTER_LINE, "keymaster_config_path = %s\n" % mine)
    status, lines = _run_refused(tmp_path, "--config", conf, "--secret-file",
                                 str(tmp_path / "other.conf"))
    assert status == 2
    error = _one_error_line(lines)
    assert mine in error and "other.conf" in error and "--secret-file" in error
