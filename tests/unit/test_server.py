"""The pure parts of `swiftcrypt serve`: its config checks (auth detection,
loopback, data dir), the secret file, the access log and the event loop's limits."""

import configparser
import logging
import os
import stat

import pytest

from swiftcrypt.cli import accesslog, secretfile, serveconfig
from swiftcrypt.cli.serve import default_config_path


def _parser(text):
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    return parser


_STAGES = {
    "gatekeeper": "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n",
    "keymaster": "use = egg:swiftcrypt#keymaster\n"
                 "keymaster_config_path = %(keymaster_config_path)s\n",
    "encryption": "use = egg:swiftcrypt#encryption\n",
    "tempauth": "use = egg:swift#tempauth\n",
    "keystoneauth": "use = egg:swift#keystoneauth\n",
    # a pass-through whose name says "auth": it authenticates nothing
    "noauth": "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n",
    "authtoken_like": "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n",
}


def _contexts(tmp_path, pipeline, names=None):
    """The paste contexts of a config whose pipeline is ``pipeline`` ending
    in the store; ``names`` renames sections (stage -> section name)."""
    names = names or {}
    text = "[pipeline:main]\npipeline = %s store\n" % " ".join(
        names.get(stage, stage) for stage in pipeline)
    for stage in pipeline:
        text += "[filter:%s]\n%s" % (names.get(stage, stage), _STAGES[stage])
    text += "[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %(data_dir)s\n"
    conf = tmp_path / "p.conf"
    conf.write_text(text)
    return serveconfig.load_contexts(str(conf), {"data_dir": str(tmp_path / "d"),
                                            "keymaster_config_path": "/nonexistent"})


@pytest.mark.parametrize("pipeline,names,expected", [
    (["gatekeeper", "keymaster", "encryption"], None, 0),
    (["tempauth", "keymaster", "encryption"], None, 1),
    (["keystoneauth", "encryption"], None, 1),
    # decided by the factory, not the section's name
    (["noauth", "keymaster", "encryption"], None, 0),
    (["authtoken_like", "encryption"], None, 0),
    (["tempauth", "encryption"], {"tempauth": "checker"}, 1),
])
def test_authorizing_filters_by_what_the_factory_is(tmp_path, pipeline, names, expected):
    assert len(serveconfig.authorizing_filters(_contexts(tmp_path, pipeline, names))) == expected


def test_embedded_pipeline_has_no_auth_and_the_three_stages(tmp_path):
    contexts = serveconfig.load_contexts(default_config_path(), {
        "data_dir": str(tmp_path), "keymaster_config_path": str(tmp_path / "k.conf")})
    assert serveconfig.authorizing_filters(contexts) == []
    parser = serveconfig.read_paste_config(default_config_path())
    stages = parser.get("pipeline:main", "pipeline").split()
    assert stages[-3:] == ["keymaster", "encryption", "store"]
    # the keymaster reads the file serve supplies
    assert serveconfig.keymaster_files(contexts) == [str(tmp_path / "k.conf")]


def test_keymaster_files_are_the_ones_read(tmp_path):
    conf = tmp_path / "k.conf"
    conf.write_text(
        "[pipeline:main]\npipeline = gatekeeper km1 km2 encryption store\n"
        "[filter:gatekeeper]\n" + _STAGES["gatekeeper"] +
        "[filter:km1]\nuse = egg:swiftcrypt#keymaster\nset keymaster_config_path = /k/set\n"
        "[filter:km2]\nuse = egg:swiftcrypt#kms_keymaster\nkeymaster_config_path = /k/plain\n"
        "[filter:encryption]\nuse = egg:swiftcrypt#encryption\n"
        "[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %(data_dir)s\n")
    settings = serveconfig.operator_settings(str(conf))
    contexts = serveconfig.load_contexts(str(conf), {
        "data_dir": "/d", "keymaster_config_path":
        settings.get("keymaster_config_path", ("/generated",))[0]})
    # the plain line is obeyed (serve passes it on), the set line too;
    # serve's own generated file is read by no one
    assert serveconfig.keymaster_files(contexts) == ["/k/plain", "/k/set"]


def _settings(tmp_path, text):
    conf = tmp_path / "s.conf"
    conf.write_text(text)
    return serveconfig.operator_settings(str(conf))


def test_operator_settings_take_plain_lines_not_substitutions(tmp_path):
    assert _settings(tmp_path, "[filter:a]\nkeymaster_config_path = /etc/k.conf\n"
                               "[filter:b]\nkeymaster_config_path = %(keymaster_config_path)s\n"
                               "[app:s]\ndata_dir = %(data_dir)s\n") == \
        {"keymaster_config_path": ("/etc/k.conf", "filter:a")}
    assert _settings(tmp_path, "[app:s]\nset data_dir = rel\n") == \
        {"data_dir": (os.path.abspath("rel"), "app:s")}
    assert _settings(tmp_path, "[app:s]\ndata_dir = %(here)s/d\n") == \
        {"data_dir": (str(tmp_path / "d"), "app:s")}
    assert _settings(tmp_path, "[DEFAULT]\ndata_dir = /srv/d\n") == \
        {"data_dir": ("/srv/d", "DEFAULT")}
    # a set line reaches its own section's factory: nothing to pass on
    assert _settings(tmp_path, "[filter:k]\nset keymaster_config_path =\n") == {}


@pytest.mark.parametrize("text,words", [
    ("[filter:a]\nkeymaster_config_path = /a\n[filter:b]\nkeymaster_config_path = /b\n",
     ["/a", "/b"]),
    ("[app:s]\ndata_dir = %(other)s/x\n", ["data_dir", "%(other)s/x"]),
])
def test_operator_settings_refuse_what_they_cannot_obey(tmp_path, text, words):
    with pytest.raises(serveconfig.StartupError) as err:
        _settings(tmp_path, text)
    assert all(word in str(err.value) for word in words)


def test_choose_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(serveconfig.DATA_DIR_ENV, raising=False)
    assert serveconfig.choose_data_dir(None, None, "c") == os.path.abspath("data")
    assert serveconfig.choose_data_dir(None, ("/srv/d", "app:s"), "c") == "/srv/d"
    assert serveconfig.choose_data_dir("/srv/d", ("/srv/d", "app:s"), "c") == "/srv/d"
    with pytest.raises(serveconfig.StartupError) as err:
        serveconfig.choose_data_dir("/other", ("/srv/d", "app:s"), "c")
    assert "--data-dir" in str(err.value) and "/srv/d" in str(err.value)
    monkeypatch.setenv(serveconfig.DATA_DIR_ENV, "/env")
    with pytest.raises(serveconfig.StartupError):
        serveconfig.choose_data_dir(None, ("/srv/d", "app:s"), "c")


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.5.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("192.0.2.1", False), ("::", False),
])
def test_is_loopback(host, expected):
    assert serveconfig.is_loopback(host) is expected


def test_ensure_root_secret_creates_private_file_once(tmp_path):
    path = str(tmp_path / "km.conf")
    old = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        assert secretfile.ensure_root_secret(path) is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = open(path).read()
    assert secretfile.ensure_root_secret(path) is False
    assert open(path).read() == first
    parser = configparser.ConfigParser()
    parser.read(path)
    assert len(parser.get("keymaster", "encryption_root_secret")) == 44


def test_check_private(tmp_path):
    path = tmp_path / "km.conf"
    path.write_text("[keymaster]\n")
    os.chmod(path, 0o600)
    serveconfig.check_private(str(path))
    os.chmod(path, 0o604)
    with pytest.raises(serveconfig.StartupError) as err:
        serveconfig.check_private(str(path))
    assert "0604" in str(err.value) and str(path) in str(err.value)


def test_access_log_line(caplog):
    def app(environ, start_response):
        start_response("206 Partial Content", [("X-Secret", "hidden-value")])
        return [b"abc", b"de"]

    logged = accesslog.AccessLog(app)
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
    from swiftcrypt.cli.prefork import parse_workers

    assert parse_workers("1") == 1
    assert parse_workers(" 4 ") == 4
    assert parse_workers("auto", cpu_count=6) == 6
    assert parse_workers("AUTO", cpu_count=None) >= 1
    for bad in ("0", "-2", "two", ""):
        with pytest.raises(ValueError, match="--workers"):
            parse_workers(bad)


def test_serving_url_reads_the_serving_line():
    from swiftcrypt.cli.serve import serving_url

    assert serving_url("swiftcrypt: serving /etc/x.conf on http://127.0.0.1:8080/\n") == \
        "http://127.0.0.1:8080"
    assert serving_url("swiftcrypt: serving /e.conf with 2 workers on http://[::1]:9/") == \
        "http://[::1]:9"
    assert serving_url("swiftcrypt: data dir /tmp/x") is None


def test_max_clients_fits_the_open_files_limit():
    from swiftcrypt.cli.wsgiserver import MAX_CLIENTS, max_clients
    assert max_clients(32768) == MAX_CLIENTS == 1024  # Swift's max_clients
    assert max_clients(1024) == 480  # two descriptors each, 64 to spare
    assert max_clients(10) == 1


def test_raise_open_files_limit_goes_up_to_the_hard_limit():
    import resource
    import subprocess
    import sys
    code = ("import resource; from swiftcrypt.cli.wsgiserver import raise_open_files_limit as r;"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096));"
            "print(r(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], r(100))")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        code = code.replace("4096", str(hard))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    wanted = min(4096, hard if hard != resource.RLIM_INFINITY else 4096)
    assert done.stdout.split() == [str(wanted), str(wanted), str(wanted)]
