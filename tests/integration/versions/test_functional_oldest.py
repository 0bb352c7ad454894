"""Swift 2.27's own functional tests (test_object.py and tests.py, from its
sdist) on a one-node Swift 2.27 cluster on Python 3.9, with Swift 2.27's
keymaster + encryption (the baseline) and with swiftcrypt's: every test
must have the outcome it has with Swift's encryption. (The newest release,
2.38.3, is tests/integration/swift/test_swift_functional.py's.)"""

import pytest

from tests.integration.swift import functests
from tests.integration.swift.conftest import swift_crypto, swiftcrypt_crypto
from tests.integration.swift_cluster import SwiftCluster
from tests.integration.versions.swift_versions import OLDEST, VERSIONS, swift_venv

FILES = functests.DEFAULT_FILES
PIPELINES = {"swift": swift_crypto, "swiftcrypt": swiftcrypt_crypto}
# Swift 2.27 itself fails these here, with its own encryption or none: its
# proxy answers GET //v1/AUTH_test (a doubled slash) with 200, where the
# test (and 2.38) expect 404
BASELINE_FAILURES = {
    "test.functional.tests.TestAccount::testInvalidPath",
    "test.functional.tests.TestAccountUTF8::testInvalidPath",
}


@pytest.fixture(scope="module")
def results():
    venv = swift_venv(OLDEST)
    found = {}

    def run(name):
        if name not in found:
            cluster = SwiftCluster(python=venv.python, syslog_sink=True)
            try:
                functests.start_cluster(cluster, PIPELINES[name]())
                found[name] = functests.run(cluster, files=FILES, version=OLDEST)
            finally:
                cluster.stop()
        return found[name]
    return run


def report(capsys, what, result):
    with capsys.disabled():
        print("\nSwift %s (Python %s) functional tests (test_object.py tests.py) with %s: %s"
              % (OLDEST, VERSIONS[OLDEST], what, result.summary()))


def test_swift_own_encryption_baseline(results, capsys):
    own = results("swift")
    report(capsys, "Swift's keymaster + encryption", own)
    assert own.errors == 0 and set(own.failed_ids) <= BASELINE_FAILURES, (
        "the %s cluster fails Swift's tests with Swift's own encryption:\n%s\n%s"
        % (OLDEST, "\n".join(own.failed_ids), own.output[-6000:]))
    assert own.passed > 200


def test_swiftcrypt_same_result_as_swift(results, capsys):
    own, ours = results("swift"), results("swiftcrypt")
    report(capsys, "swiftcrypt's keymaster + encryption", ours)
    diff = functests.differences(own.outcomes_of(FILES), ours.outcomes_of(FILES))
    assert not diff, "outcomes differ from Swift %s's encryption:\n%s\n\n%s" % (
        OLDEST, "\n".join("%s: %s with Swift, %s here" % (ident, *diff[ident])
                          for ident in sorted(diff)), ours.output[-8000:])
    assert ours.passed == own.passed
