"""Swift's own functional tests (test_object.py and tests.py from the swift
sdist) against a real cluster: with Swift's keymaster/encryption, with
swiftcrypt's keymaster and encryption, and with swiftcrypt's kms_keymaster
(the same root secret fetched from the session's real Barbican) and
encryption, each on a fresh cluster, in the same run. swiftcrypt must pass
everything Swift's encryption passes, with the same skips (those depend on
cluster features).
"""

import json
import os

import pytest

from tests.integration.swift import functests
from tests.integration.swift.conftest import kms_crypto, swift_crypto, swiftcrypt_crypto
from tests.integration.swift_cluster import SwiftCluster

#: name -> (what it is, crypto maker given the fixture request)
PIPELINES = {
    "swift": ("Swift's keymaster + encryption", lambda request: swift_crypto()),
    "swiftcrypt": ("swiftcrypt's keymaster + encryption", lambda request: swiftcrypt_crypto()),
    "kms": ("swiftcrypt's kms_keymaster (Barbican) + encryption",
            lambda request: kms_crypto(request.getfixturevalue("kms_secrets"))),
}


def run_against(crypto):
    cluster = SwiftCluster()
    try:
        cluster.start(crypto)
        return functests.run(cluster)
    finally:
        cluster.stop()


class Runs:
    """One functional run per pipeline, made when a test first asks for it
    (so a pipeline that cannot start fails only the tests that need it);
    the counts so far go to swift-functests-last.json in the cache dir."""

    def __init__(self, request):
        self.request = request
        self.results = {}

    def __getitem__(self, name):
        if name not in self.results:
            self.results[name] = run_against(PIPELINES[name][1](self.request))
            self.save()
        return self.results[name]

    def save(self):
        summary = {name: {"passed": r.passed, "skipped": r.skipped, "failures": r.failures,
                          "errors": r.errors, "seconds": round(r.seconds, 1),
                          "failed": r.failed_ids}
                   for name, r in self.results.items()}
        path = os.path.join(functests.cache_dir(), "swift-functests-last.json")
        with open(path, "w") as fh:
            json.dump(summary, fh, indent=2)


@pytest.fixture(scope="module")
def results(request):
    return Runs(request)


def report(capsys, name, result):
    with capsys.disabled():
        print()
        print("Swift %s functional tests (test_object.py + tests.py) with %s: %s"
              % (functests.SWIFT_VERSION, PIPELINES[name][0], result.summary()))


def test_swift_own_encryption_baseline(results, capsys):
    own = results["swift"]
    report(capsys, "swift", own)
    assert own.failures == 0 and own.errors == 0, (
        "the cluster itself fails Swift's tests with Swift's own encryption:\n%s\n%s"
        % ("\n".join(own.failed_ids), own.output[-6000:]))
    assert own.passed > 200


def assert_same_result_as_swift(results, name, capsys):
    own, ours = results["swift"], results[name]
    report(capsys, name, ours)
    assert ours.failures == 0 and ours.errors == 0, (
        "with %s: %s\n%s\n%s"
        % (PIPELINES[name][0], ours.summary(), "\n".join(ours.failed_ids),
           ours.output[-8000:]))
    assert ours.passed == own.passed
    assert ours.skipped == own.skipped
    assert sorted(ours.skipped_ids) == sorted(own.skipped_ids)


def test_swiftcrypt_same_result_as_swift(results, capsys):
    assert_same_result_as_swift(results, "swiftcrypt", capsys)


def test_kms_keymaster_same_result_as_swift(results, capsys):
    assert_same_result_as_swift(results, "kms", capsys)
