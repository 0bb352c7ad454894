"""The backend the compatibility tests run over."""

from tests.support.memstore import MemStore


def make_backend(tmp_path):
    return MemStore()
