"""Every filter and app loads by its `egg:swiftcrypt#...` name through
paste.deploy, as an operator's proxy-server.conf names them (the other
tests mostly call the factories directly)."""

import base64

from paste.deploy import loadapp
from webob import Request

SECRET = base64.b64encode(bytes(range(32))).decode("ascii")


def _load(tmp_path, keymaster_section):
    conf = tmp_path / "proxy.conf"
    conf.write_text(
        "[pipeline:main]\npipeline = gatekeeper keymaster encryption store\n\n"
        "[filter:gatekeeper]\n"
        "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory\n\n"
        "[filter:keymaster]\n%s\n"
        "[filter:encryption]\nuse = egg:swiftcrypt#encryption\n\n"
        "[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %s\n"
        % (keymaster_section, tmp_path / "data"))
    return loadapp("config:%s" % conf)


def test_keymaster_encryption_and_store_by_egg_name(tmp_path):
    app = _load(tmp_path, "use = egg:swiftcrypt#keymaster\nencryption_root_secret = %s\n"
                % SECRET)
    assert Request.blank("/v1/a/c", method="PUT").get_response(app).status_int == 201
    put = Request.blank("/v1/a/c/o", method="PUT", body=b"hello")
    assert put.get_response(app).status_int == 201
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"hello"
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert b"hello" not in stored


def test_every_entry_point_resolves():
    # building kms_keymaster or account_keymaster needs a Barbican
    # (tests/integration/kms); resolving them proves setup.py names them
    from importlib.metadata import entry_points

    names = {("paste.filter_factory", n) for n in (
        "keymaster", "kms_keymaster", "account_keymaster", "encryption")}
    names.add(("paste.app_factory", "store"))
    every = entry_points()
    for group, name in sorted(names):
        # Python 3.9's entry_points() takes no group= (a dict of groups)
        in_group = every.select(group=group) if hasattr(every, "select") \
            else every.get(group, ())
        # (a set: Python 3.9 may list one distribution twice, from two paths)
        found = list({ep.value: ep for ep in in_group if ep.name == name
                      and ep.value.startswith("swiftcrypt.")}.values())
        assert len(found) == 1, (group, name)
        assert callable(found[0].load())


def test_old_module_paths_still_load_with_a_deprecation_warning(tmp_path, caplog):
    # configs written before the subpackages name the filters by module path
    import importlib
    import sys
    import warnings

    moved = {"keymaster": "swiftcrypt.keymasters.config_keymaster",
             "kms_keymaster": "swiftcrypt.keymasters.kms_keymaster",
             "account_keymaster": "swiftcrypt.keymasters.account_keymaster",
             "encryption": "swiftcrypt.middleware.encryption"}
    for old, new in moved.items():
        sys.modules.pop("swiftcrypt." + old, None)
        with warnings.catch_warnings(record=True) as caught, \
                caplog.at_level("WARNING", logger="swiftcrypt"):
            warnings.simplefilter("always")
            shim = importlib.import_module("swiftcrypt." + old)
        assert shim.filter_factory is importlib.import_module(new).filter_factory
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message)
                   for w in caught), old
        assert any("swiftcrypt.%s is deprecated" % old in r.getMessage()
                   for r in caplog.records), old
    # and through paste.deploy, as a proxy-server.conf would say it
    app = _load(tmp_path, "paste.filter_factory = swiftcrypt.keymaster:filter_factory\n"
                "encryption_root_secret = %s\n" % SECRET)
    assert Request.blank("/v1/a/c", method="PUT").get_response(app).status_int == 201
    put = Request.blank("/v1/a/c/o", method="PUT", body=b"hello")
    assert put.get_response(app).status_int == 201
    assert Request.blank("/v1/a/c/o").get_response(app).body == b"hello"
