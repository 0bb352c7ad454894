"""The multi-node Swift cluster's tests: three storage nodes, two proxies,
Swift's daemons (tests/integration/swift_cluster.py, ``nodes=3,
proxies=2``). Each module starts its own cluster once (a module-scoped
fixture) and fails, never skips, if it cannot."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.integration)
