"""Where serve keeps its generated root secret (swiftcrypt/cli/secretfile.py)."""

import os

from swiftcrypt.cli import secretfile


def test_default_is_outside_the_data_dir_under_xdg_config_home(tmp_path):
    assert secretfile.default_path({"XDG_CONFIG_HOME": "/x/cfg"}) == \
        "/x/cfg/swiftcrypt/keymaster.conf"
    home = os.path.expanduser("~")
    assert secretfile.default_path({}) == os.path.join(home, ".config", "swiftcrypt",
                                                       "keymaster.conf")


def test_option_then_environment_then_default():
    env = {"SWIFTCRYPT_SECRET_FILE": "/env/km.conf", "XDG_CONFIG_HOME": "/cfg"}
    assert secretfile.choose("/opt/km.conf", env) == "/opt/km.conf"
    assert secretfile.choose(None, env) == "/env/km.conf"
    assert secretfile.choose(None, {"XDG_CONFIG_HOME": "/cfg"}) == \
        "/cfg/swiftcrypt/keymaster.conf"


def test_refusals(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    new = tmp_path / "cfg" / "keymaster.conf"
    assert secretfile.refusal(str(new), str(data)) is None  # a fresh start
    old = data / "keymaster.conf"
    old.write_text("x")
    assert "where earlier versions kept it" in secretfile.refusal(str(new), str(data))
    assert secretfile.refusal(str(old), str(data)) is None  # named on purpose
    new.parent.mkdir()
    new.write_text("y")
    assert "two root secrets" in secretfile.refusal(str(new), str(data))
    old.unlink()
    assert secretfile.refusal(str(new), str(data)) is None
    new.unlink()
    (data / "listing.db").write_text("")
    assert "already holds data" in secretfile.refusal(str(new), str(data))


def test_inside(tmp_path):
    assert secretfile.inside(str(tmp_path / "d" / "k.conf"), str(tmp_path / "d"))
    assert not secretfile.inside(str(tmp_path / "dd" / "k.conf"), str(tmp_path / "d"))
