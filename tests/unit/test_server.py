"""The pure parts of `swiftcrypt serve`: auth detection, loopback, secret file."""

import configparser
import logging
import os
import stat

import pytest

from swiftcrypt import server


def _parser(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


@pytest.mark.parametrize("text,expected", [
    ("[pipeline:main]\npipeline = keymaster encryption store\n", False),
    ("[pipeline:main]\npipeline = tempauth keymaster encryption store\n", True),
    ("[pipeline:main]\npipeline = a store\n[filter:a]\nuse = egg:swift#keystoneauth\n", True),
    ("[pipeline:main]\npipeline = a store\n[filter:a]\n"
     "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n", True),
    ("[pipeline:main]\npipeline = keymaster tempauth\n", False),  # the app is last
    ("[pipeline:other]\npipeline = tempauth store\n", True),
    ("[pipeline:x]\npipeline = tempauth store\n[pipeline:y]\npipeline = store\n", False),
    ("[app:main]\nuse = egg:swiftcrypt#store\n", False),
])
def test_pipeline_has_auth(text, expected):
    assert server.pipeline_has_auth(_parser(text)) is expected


def test_embedded_pipeline_has_no_auth_and_the_three_stages():
    parser = server.read_paste_config(server.default_config_path())
    assert not server.pipeline_has_auth(parser)
    stages = parser.get("pipeline:main", "pipeline").split()
    assert stages[-3:] == ["keymaster", "encryption", "store"]
    assert server.uses_generated_keymaster(open(server.default_config_path()).read())


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.5.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("192.0.2.1", False), ("::", False),
])
def test_is_loopback(host, expected):
    assert server.is_loopback(host) is expected


def test_ensure_root_secret_creates_private_file_once(tmp_path):
    path = str(tmp_path / "km.conf")
    old = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        assert server.ensure_root_secret(path) is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = open(path).read()
    assert server.ensure_root_secret(path) is False
    assert open(path).read() == first
    parser = configparser.ConfigParser()
    parser.read(path)
    assert len(parser.get("keymaster", "encryption_root_secret")) == 44


def test_check_private(tmp_path):
    path = tmp_path / "km.conf"
    path.write_text("[keymaster]\n")
    os.chmod(path, 0o600)
    server.check_private(str(path))
    os.chmod(path, 0o604)
    with pytest.raises(server.StartupError) as err:
        server.check_private(str(path))
    assert "0604" in str(err.value) and str(path) in str(err.value)


def test_keymaster_paths_skips_substituted():
    parser = _parser("[filter:a]\nkeymaster_config_path = /etc/k.conf\n"
                     "[filter:b]\nkeymaster_config_path = %(keymaster_config_path)s\n")
    assert server.keymaster_paths(parser) == ["/etc/k.conf"]


def test_access_log_line(caplog):
    def app(environ, start_response):
        start_response("206 Partial Content", [("X-Secret", "hidden-value")])
        return [b"abc", b"de"]

    logged = server.AccessLog(app)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/a/c/\xc3\xa9 x",
               "QUERY_STRING": "temp_url_sig=secret", "REMOTE_ADDR": "10.0.0.1",
               "HTTP_X_AUTH_TOKEN": "token-value"}
    with caplog.at_level(logging.INFO, logger="swiftcrypt.access"):
        body = logged(environ, lambda status, headers, exc_info=None: None)
        assert b"".join(body) == b"abcde"
        body.close()
    (record,) = [r for r in caplog.records if r.name == "swiftcrypt.access"]
    fields = record.getMessage().split()
    assert fields[:5] == ["10.0.0.1", "GET", "/v1/a/c/%C3%A9%20x", "206", "5"]
    assert fields[5].endswith("s")
    text = record.getMessage()
    assert "secret" not in text and "token-value" not in text and "hidden" not in text
    assert logged.active == 0


def test_parse_workers():
    from swiftcrypt.prefork import parse_workers

    assert parse_workers("1") == 1
    assert parse_workers(" 4 ") == 4
    assert parse_workers("auto", cpu_count=6) == 6
    assert parse_workers("AUTO", cpu_count=None) >= 1
    for bad in ("0", "-2", "two", ""):
        with pytest.raises(ValueError, match="--workers"):
            parse_workers(bad)


def test_serving_url_reads_the_serving_line():
    from swiftcrypt.server import serving_url

    assert serving_url("swiftcrypt: serving /etc/x.conf on http://127.0.0.1:8080/\n") == \
        "http://127.0.0.1:8080"
    assert serving_url("swiftcrypt: serving /e.conf with 2 workers on http://[::1]:9/") == \
        "http://[::1]:9"
    assert serving_url("swiftcrypt: data dir /tmp/x") is None


def test_max_clients_fits_the_open_files_limit():
    from swiftcrypt.server import MAX_CLIENTS, max_clients
    assert max_clients(32768) == MAX_CLIENTS == 1024  # Swift's max_clients
    assert max_clients(1024) == 480  # two descriptors each, 64 to spare
    assert max_clients(10) == 1


def test_raise_open_files_limit_goes_up_to_the_hard_limit():
    import resource
    import subprocess
    import sys
    code = ("import resource; from swiftcrypt.server import raise_open_files_limit as r;"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096));"
            "print(r(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], r(100))")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        code = code.replace("4096", str(hard))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    wanted = min(4096, hard if hard != resource.RLIM_INFINITY else 4096)
    assert done.stdout.split() == [str(wanted), str(wanted), str(wanted)]
