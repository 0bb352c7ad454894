"""The backend the compatibility tests run over: the real embedded store."""

from swiftcrypt.store.app import app_factory


def make_backend(tmp_path):
    return app_factory({}, data_dir=str(tmp_path / "store"))
