"""`swiftcrypt serve` itself: first-run secret, refusals, signals, logs."""

import base64
import configparser
import os
import signal
import stat
import time
import uuid

import pytest
import requests

from tests.functional.conftest import secret_path, start_server


def _run_refused(tmp_path, *args, env=None):
    """Start a server expected to refuse; return its stderr lines."""
    log = tmp_path / "refused.log"
    proc = start_server(tmp_path / "data", log, *args, env=env, wait=False)
    try:
        status = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = log.read_text().splitlines()
    return status, lines


def _one_error_line(lines):
    errors = [line for line in lines if line.startswith("swiftcrypt: error: ")]
    assert len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines), lines
    return errors[0]


def test_first_run_generates_private_root_secret(tmp_path):
    srv = start_server(tmp_path / "data", tmp_path / "s.log")
    try:
        path = secret_path(tmp_path)  # $XDG_CONFIG_HOME/swiftcrypt/keymaster.conf
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert not (tmp_path / "data" / "keymaster.conf").exists()  # not beside the data
        parser = configparser.ConfigParser()
        parser.read(path)
        secret = base64.b64decode(parser.get("keymaster", "encryption_root_secret"),
                                  validate=True)
        assert len(secret) == 32
        log = srv.log_text()
        assert "generated a new root secret in %s" % path in log
        assert parser.get("keymaster", "encryption_root_secret") not in log
        assert str(tmp_path / "data") in log  # says where the data dir is
        assert requests.put(srv.url + "/v1/a/c").status_code == 201
    finally:
        assert srv.stop() == 0
    # a second run keeps the secret and does not announce a new one
    again = start_server(tmp_path / "data", tmp_path / "s2.log")
    try:
        parser2 = configparser.ConfigParser()
        parser2.read(path)
        assert parser2.get("keymaster", "encryption_root_secret") == \
            parser.get("keymaster", "encryption_root_secret")
        assert "generated a new root secret" not in again.log_text()
        assert requests.head(again.url + "/v1/a/c").status_code == 204
    finally:
        assert again.stop() == 0


def test_data_dir_from_environment(tmp_path):
    data = tmp_path / "from-env"
    srv = start_server(None, tmp_path / "env.log", env={"SWIFTCRYPT_DATA_DIR": str(data)})
    try:
        assert "data dir %s" % data in srv.log_text()
        assert secret_path(tmp_path).exists() and not (data / "keymaster.conf").exists()
        assert requests.put(srv.url + "/v1/a/c").status_code == 201
        assert (data / "listing.db").exists()
    finally:
        assert srv.stop() == 0


def test_refused_bind_touches_no_data_dir(tmp_path):
    status, lines = _run_refused(tmp_path, "--host", "192.0.2.1")
    assert status == 2
    assert "192.0.2.1" in _one_error_line(lines)
    assert not (tmp_path / "data").exists()


def test_refuses_group_readable_keymaster_file(tmp_path):
    path = secret_path(tmp_path)
    path.parent.mkdir(parents=True)
    secret = base64.b64encode(os.urandom(32)).decode()
    path.write_text("[keymaster]\nencryption_root_secret = %s\n" % secret)
    os.chmod(path, 0o640)
    status, lines = _run_refused(tmp_path)
    assert status == 2
    line = _one_error_line(lines)
    assert str(path) in line and "group or others" in line
    assert secret not in "\n".join(lines)


def test_refuses_non_loopback_without_auth(tmp_path):
    status, lines = _run_refused(tmp_path, "--host", "0.0.0.0")
    assert status == 2
    line = _one_error_line(lines)
    assert "0.0.0.0" in line and "auth" in line


def test_non_loopback_allowed_with_auth_filter(tmp_path):
    conf = tmp_path / "auth.conf"
    conf.write_text(
        "[pipeline:main]\n"
        "pipeline = tempauth keymaster encryption store\n"
        "[filter:tempauth]\n"
        "use = egg:swift#tempauth\n"
        "user_test_tester = testing .admin\n"
        "[filter:keymaster]\n"
        "use = egg:swiftcrypt#keymaster\n"
        "keymaster_config_path = %(keymaster_config_path)s\n"
        "[filter:encryption]\n"
        "use = egg:swiftcrypt#encryption\n"
        "[app:store]\n"
        "use = egg:swiftcrypt#store\n"
        "data_dir = %(data_dir)s\n")
    srv = start_server(tmp_path / "data", tmp_path / "a.log", "--config", str(conf),
                       "--host", "0.0.0.0")
    try:
        port = srv.url.rsplit(":", 1)[1]
        resp = requests.get("http://127.0.0.1:%s/v1/AUTH_test" % port)
        assert resp.status_code == 401  # tempauth is in front
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_is_clean_exit(tmp_path, sig):
    srv = start_server(tmp_path / "data", tmp_path / "sig.log")
    with requests.Session() as keepalive:  # an idle keep-alive connection
        assert keepalive.put(srv.url + "/v1/a/c").status_code == 201
        assert srv.stop(sig) == 0
    assert "Traceback" not in srv.log_text()


def _access_lines(server, needle):
    return [line for line in server.log_text().splitlines()
            if "swiftcrypt.access" in line and needle in line]


def test_one_log_line_per_request_without_header_values(server, http):
    container = "logged-" + uuid.uuid4().hex[:8]
    url = "%s/v1/AUTH_test/%s" % (server.url, container)
    secret = "tok-" + uuid.uuid4().hex
    meta = "meta-" + uuid.uuid4().hex
    headers = {"X-Auth-Token": secret, "X-Object-Meta-Note": meta}
    assert http.put(url, headers=headers).status_code == 201
    assert http.put(url + "/o", data=b"hello", headers=headers).status_code == 201
    assert http.get(url + "/o", headers=headers).status_code == 200
    assert http.head(url + "/o", headers=headers).status_code == 200
    assert http.get(url + "/missing", headers=headers).status_code == 404
    deadline = time.monotonic() + 10
    while len(_access_lines(server, container)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = _access_lines(server, container)
    assert len(lines) == 5, lines
    expected = [("PUT", "", "201"), ("PUT", "/o", "201"), ("GET", "/o", "200"),
                ("HEAD", "/o", "200"), ("GET", "/missing", "404")]
    for line, (method, suffix, status) in zip(lines, expected):
        fields = line.split()
        path = "/v1/AUTH_test/%s%s" % (container, suffix)
        assert fields[fields.index(method) + 1] == path
        assert fields[fields.index(path) + 1] == status
    get_fields = lines[2].split()
    assert get_fields[get_fields.index("200") + 1] == "5"  # response bytes
    log = server.log_text()
    assert secret not in log and meta not in log


def test_bad_keymaster_config_is_one_line(tmp_path):
    path = secret_path(tmp_path)
    path.parent.mkdir(parents=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"[keymaster]\nencryption_root_secret = c2hvcnQ=\n")
    os.close(fd)
    status, lines = _run_refused(tmp_path)
    assert status == 2
    line = _one_error_line(lines)
    assert "encryption_root_secret" in line and "c2hvcnQ=" not in line


def test_missing_config_file_is_one_line(tmp_path):
    status, lines = _run_refused(tmp_path, "--config", str(tmp_path / "nope.conf"))
    assert status == 2
    assert "nope.conf" in _one_error_line(lines)


def test_bad_filter_option_is_one_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "[pipeline:main]\npipeline = encryption store\n"
        "[filter:encryption]\nuse = egg:swiftcrypt#encryption\ndisable_encryption = maybe\n"
        "[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %(data_dir)s\n")
    status, lines = _run_refused(tmp_path, "--config", str(conf))
    assert status == 2
    assert "disable_encryption" in _one_error_line(lines)


def _write_secret(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = base64.b64encode(os.urandom(32)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, ("[keymaster]\nencryption_root_secret = %s\n" % secret).encode())
    os.close(fd)
    return secret


def test_secret_in_the_old_place_is_never_replaced_by_a_new_one(tmp_path):
    # earlier versions kept it in <data dir>/keymaster.conf: a new secret
    # beside it would leave the stored data unreadable
    old = tmp_path / "data" / "keymaster.conf"
    secret = _write_secret(old)
    (tmp_path / "data" / "listing.db").write_bytes(b"")
    status, lines = _run_refused(tmp_path)
    assert status == 2
    line = _one_error_line(lines)
    new = secret_path(tmp_path)
    assert str(old) in line and "mv %s %s" % (old, new) in line and "--secret-file" in line
    assert not new.exists() and secret not in "\n".join(lines)
    # once both exist, serve does not pick one
    _write_secret(new)
    status, lines = _run_refused(tmp_path)
    assert status == 2
    line = _one_error_line(lines)
    assert "two root secrets" in line and str(old) in line and str(new) in line
    # moved as the message says, it is used and the data dir is clean of keys
    new.unlink()
    old.rename(new)
    srv = start_server(tmp_path / "data", tmp_path / "moved.log")
    try:
        assert "generated" not in srv.log_text()
        assert secret in new.read_text()
    finally:
        assert srv.stop() == 0


def test_data_without_its_secret_is_refused(tmp_path):
    srv = start_server(tmp_path / "data", tmp_path / "first.log")
    try:
        assert requests.put(srv.url + "/v1/a/c").status_code == 201
    finally:
        assert srv.stop() == 0
    secret_path(tmp_path).unlink()  # e.g. another user's HOME, or a lost ~/.config
    status, lines = _run_refused(tmp_path)
    assert status == 2
    line = _one_error_line(lines)
    assert "already holds data" in line and str(secret_path(tmp_path)) in line
    assert not secret_path(tmp_path).exists()


def test_secret_file_option_and_environment(tmp_path):
    chosen = tmp_path / "keys" / "mine.conf"
    srv = start_server(tmp_path / "data", tmp_path / "opt.log", "--secret-file", str(chosen))
    try:
        assert "generated a new root secret in %s" % chosen in srv.log_text()
    finally:
        assert srv.stop() == 0
    assert chosen.exists() and not secret_path(tmp_path).exists()
    srv = start_server(tmp_path / "data", tmp_path / "env2.log",
                       env={"SWIFTCRYPT_SECRET_FILE": str(chosen)})
    try:
        assert "generated" not in srv.log_text()
        assert requests.head(srv.url + "/v1/a/c").status_code in (204, 404)
    finally:
        assert srv.stop() == 0
    # a secret the operator puts inside the data dir is used, with a warning
    inside = tmp_path / "data2" / "secret.conf"
    srv = start_server(tmp_path / "data2", tmp_path / "in.log", "--secret-file", str(inside))
    try:
        assert "inside the data dir" in srv.log_text()
    finally:
        assert srv.stop() == 0
