"""Option parsing helpers and keymaster_config_path loading."""

import logging
import os

import pytest

from swiftcrypt.common import options
from swiftcrypt.common.errors import ConfigError


# --- as_bool ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1", "yes", "on", "t", "y",
                                   " yes ", True, 1])
def test_as_bool_true(value):
    assert options.as_bool({"opt": value}, "opt") is True


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off", "f", "n", "", "  ",
                                   False, 0])
def test_as_bool_false(value):
    assert options.as_bool({"opt": value}, "opt", default=True) is False


def test_as_bool_default():
    assert options.as_bool({}, "opt") is False
    assert options.as_bool({}, "opt", default=True) is True
    assert options.as_bool({"opt": None}, "opt", default=True) is True


@pytest.mark.parametrize("value", ["maybe", "2", "tru", "yess", "enabled", "-1"])
def test_as_bool_error(value):
    with pytest.raises(ConfigError) as info:
        options.as_bool({"allow_it": value}, "allow_it")
    err = info.value
    assert err.option == "allow_it"
    assert str(err).startswith("allow_it: ")
    assert repr(value) in str(err)
    assert "\n" not in str(err)


# --- as_number ----------------------------------------------------------------------

def test_as_number_values():
    assert options.as_number({"n": "1.5"}, "n", 7) == 1.5
    assert options.as_number({"n": " 3 "}, "n", 7, kind=int) == 3
    assert isinstance(options.as_number({"n": "3"}, "n", 7, kind=int), int)
    assert options.as_number({"n": 0}, "n", 7) == 0
    assert options.as_number({"n": "5"}, "n", 7, minimum=5) == 5
    assert options.as_number({"n": "-2"}, "n", 7, minimum=-3) == -2


def test_as_number_default():
    assert options.as_number({}, "n", 7) == 7
    assert options.as_number({"n": None}, "n", 7) == 7
    assert options.as_number({"n": ""}, "n", 7) == 7
    assert options.as_number({"n": "  "}, "n", 7) == 7


@pytest.mark.parametrize("value,kind", [
    ("abc", float), ("1.5", int), ("1e3x", float), ("one", int), ("nan", float),
    ("NaN", float), ("0x10", int),
])
def test_as_number_not_a_number(value, kind):
    with pytest.raises(ConfigError) as info:
        options.as_number({"chunk_size": value}, "chunk_size", 1, kind=kind)
    assert info.value.option == "chunk_size"
    assert "number" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value,minimum", [("-1", 0), ("0.5", 1), ("4", 5), ("-inf", 0)])
def test_as_number_below_minimum(value, minimum):
    with pytest.raises(ConfigError) as info:
        options.as_number({"timeout": value}, "timeout", 1, minimum=minimum)
    assert info.value.option == "timeout"
    assert "at least" in str(info.value)
    assert "\n" not in str(info.value)


def test_config_error_fields():
    err = ConfigError("opt", "is wrong")
    assert (err.option, err.problem, str(err)) == ("opt", "is wrong", "opt: is wrong")


# --- load_with_config_path ---------------------------------------------------------------

def _own(name):
    return name.startswith("secret")


def test_without_config_path_returns_conf():
    conf = {"secret": "x", "other": "y"}
    loaded = options.load_with_config_path(conf, "sect", _own)
    assert loaded == conf
    assert loaded is not conf


def test_config_path_merges(tmp_path):
    path = tmp_path / "f.conf"
    path.write_text("[sect]\nsecret = s\nsecret_2 = t\n[other]\nsecret_3 = u\n")
    os.chmod(path, 0o600)
    conf = {"keymaster_config_path": str(path), "other": "y"}
    loaded = options.load_with_config_path(conf, "sect", _own)
    assert loaded == {"keymaster_config_path": str(path), "other": "y",
                      "secret": "s", "secret_2": "t"}


def test_config_path_clash(tmp_path):
    path = tmp_path / "f.conf"
    path.write_text("[sect]\nsecret = s\n")
    with pytest.raises(ConfigError) as info:
        options.load_with_config_path(
            {"keymaster_config_path": str(path), "secret_b": "VALUE_B", "secret_a": "VALUE_A"},
            "sect", _own)
    assert info.value.option == "keymaster_config_path"
    assert "secret_a, secret_b" in str(info.value)
    assert "VALUE_A" not in str(info.value) and "VALUE_B" not in str(info.value)


def test_config_path_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        options.load_with_config_path(
            {"keymaster_config_path": str(tmp_path / "missing")}, "sect", _own)
    with pytest.raises(ConfigError, match="cannot read"):
        options.load_with_config_path({"keymaster_config_path": str(tmp_path)}, "sect", _own)
    path = tmp_path / "f.conf"
    path.write_text("[nope]\nsecret = s\n")
    with pytest.raises(ConfigError, match=r"no \[sect\] section"):
        options.load_with_config_path({"keymaster_config_path": str(path)}, "sect", _own)
    path.write_text("[sect]\nsecret = s\nsecret = t\n")
    with pytest.raises(ConfigError, match="not a valid config file"):
        options.load_with_config_path({"keymaster_config_path": str(path)}, "sect", _own)


def test_group_or_world_readable(tmp_path, caplog):
    path = tmp_path / "f.conf"
    path.write_text("[sect]\nsecret = s\n")
    os.chmod(path, 0o600)
    assert not options.group_or_world_readable(str(path))
    with caplog.at_level(logging.WARNING, logger="swiftcrypt.options"):
        options.load_with_config_path({"keymaster_config_path": str(path)}, "sect", _own)
    assert not caplog.records
    for mode in (0o640, 0o604, 0o610):
        os.chmod(path, mode)
        assert options.group_or_world_readable(str(path))
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="swiftcrypt.options"):
        options.load_with_config_path({"keymaster_config_path": str(path)}, "sect", _own)
    assert len(caplog.records) == 1
    assert str(path) in caplog.records[0].getMessage()


# -- the one secret-id parser (config_keymaster's and kms_keymaster's) -------

def test_secret_id_of_both_keymasters_options():
    from swiftcrypt.common.options import secret_id_of
    from swiftcrypt.keymasters import config_keymaster, kms_keymaster
    for base, parse in (("encryption_root_secret", config_keymaster.secret_id_of),
                        ("key_id", kms_keymaster.secret_id_of)):
        assert secret_id_of(base, base) is None and parse(base) is None
        assert secret_id_of(base + "_2", base) == "2" == parse(base + "_2")
        assert secret_id_of(base + "_a_b", base) == "a_b" == parse(base + "_a_b")
        for other in (base + "_", base + "x", "x" + base, "", "active_root_secret_id"):
            assert secret_id_of(other, base) is False and parse(other) is False


# -- the one config-file reader (options, `swiftcrypt keys`, `serve`) ---------

def test_read_config_file_reads_without_interpolation(tmp_path):
    path = tmp_path / "a.conf"
    path.write_text("[s]\nx = 100%(here)s\n")
    assert options.read_config_file(str(path)).get("s", "x") == "100%(here)s"


def test_read_config_file_missing_says_why(tmp_path):
    path = str(tmp_path / "none.conf")
    with pytest.raises(options.ConfigFileError) as exc:
        options.read_config_file(path)
    assert str(exc.value) == "cannot read %s: No such file or directory" % path
    assert exc.value.strerror == "No such file or directory" and exc.value.detail is None
    assert isinstance(exc.value.__cause__, OSError)


def test_read_config_file_invalid_never_quotes_the_file_in_its_message(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("encryption_root_secret = SECRETVALUE\n")  # before any section
    with pytest.raises(options.ConfigFileError) as exc:
        options.read_config_file(str(path))
    assert str(exc.value) == "%s is not a valid config file" % path
    assert "SECRETVALUE" not in str(exc.value) and exc.value.__cause__ is None
    assert exc.value.strerror is None and exc.value.detail  # serve shows the detail


def test_read_config_file_into_a_given_parser(tmp_path):
    import configparser
    path = tmp_path / "paste.conf"
    path.write_text("[s]\nx = 1\nx = 2\n")  # paste's files may repeat an option
    with pytest.raises(options.ConfigFileError):
        options.read_config_file(str(path))
    parser = options.read_config_file(str(path), configparser.RawConfigParser(strict=False))
    assert parser.get("s", "x") == "2"
