"""Through a real one-node Swift (the integration fixture): the same
proxy with no encryption, Swift's own filters, and swiftcrypt's."""

import os

from . import httpload


def _repo_on_path():
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isdir(os.path.join(root, "tests", "integration")) and root not in sys.path:
        sys.path.append(root)  # the console script does not run from the checkout


def available():
    _repo_on_path()
    try:
        from tests.integration import swift_cluster  # noqa: F401
    except ImportError:  # the fixture needs the repository checkout
        return False
    return True


def measure(sizes, rounds, clients=1, requests=3, progress=None):
    """``{name: {size: [result dicts]}}`` for each pipeline, rounds interleaved."""
    from tests.integration.swift_cluster import Crypto, SwiftCluster

    secret = bytes(range(32))
    cryptos = {"none": Crypto(), "swift": Crypto("swift", "swift", {None: secret}),
               "swiftcrypt": Crypto("swiftcrypt", "swiftcrypt", {None: secret})}
    datas = {size: os.urandom(size) for size in sizes}
    out = {name: {size: [] for size in sizes} for name in cryptos}
    with SwiftCluster() as cluster:
        cluster.start(cryptos["none"])
        for rnd in range(rounds):
            order = list(cryptos)
            order = order[rnd % 3:] + order[:rnd % 3]
            for name in order:
                cluster.restart_proxy(cryptos[name])
                url, token = cluster.auth("test", "tester")
                httpload.ensure_container(url, token, "bench")
                for size in sizes:
                    out[name][size].append(httpload.load(
                        url, token, "bench", datas[size], clients,
                        requests if size > (1 << 20) else requests * 20))
                    if progress is not None:
                        progress.step("cluster %s" % name)
    return out
