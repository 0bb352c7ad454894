"""Swift's own functional tests (test_object.py and tests.py from the swift
sdist) against a real cluster: once with Swift's keymaster/encryption, once
with swiftcrypt's, in the same run. swiftcrypt must pass everything Swift's
encryption passes, with the same skips (those depend on cluster features).
"""

import json
import os

import pytest

from tests.integration.swift import functests
from tests.integration.swift.conftest import swift_crypto, swiftcrypt_crypto
from tests.integration.swift_cluster import SwiftCluster


PIPELINES = {
    "swift": swift_crypto,
    "swiftcrypt": swiftcrypt_crypto,
}


def run_against(crypto):
    cluster = SwiftCluster()
    try:
        cluster.start(crypto)
        return functests.run(cluster)
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def results():
    out = {name: run_against(make()) for name, make in PIPELINES.items()}
    summary = {name: {"passed": r.passed, "skipped": r.skipped, "failures": r.failures,
                      "errors": r.errors, "seconds": round(r.seconds, 1),
                      "failed": r.failed_ids}
               for name, r in out.items()}
    path = os.path.join(functests.cache_dir(), "swift-functests-last.json")
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2)
    return out


def report(capsys, results):
    with capsys.disabled():
        print()
        for name, result in results.items():
            print("Swift %s functional tests (test_object.py + tests.py) with %s encryption: %s"
                  % (functests.SWIFT_VERSION, name, result.summary()))


def test_swift_own_encryption_baseline(results, capsys):
    report(capsys, results)
    own = results["swift"]
    assert own.failures == 0 and own.errors == 0, (
        "the cluster itself fails Swift's tests with Swift's own encryption:\n%s\n%s"
        % ("\n".join(own.failed_ids), own.output[-6000:]))
    assert own.passed > 200


def test_swiftcrypt_same_result_as_swift(results):
    own, ours = results["swift"], results["swiftcrypt"]
    assert ours.failures == 0 and ours.errors == 0, (
        "with swiftcrypt: %s\n%s\n%s"
        % (ours.summary(), "\n".join(ours.failed_ids), ours.output[-8000:]))
    assert ours.passed == own.passed
    assert ours.skipped == own.skipped
    assert sorted(ours.skipped_ids) == sorted(own.skipped_ids)
