"""Swift's own functional tests (from the swift sdist) against a real
cluster, each configuration on a fresh cluster, in the same run:

* Swift's keymaster/encryption (the baseline) and swiftcrypt's keymaster
  and encryption: test_object.py and tests.py, plus the modules of the
  middlewares around encryption (slo, dlo, symlink, versioned_writes,
  object_versioning, tempurl, staticweb, domain_remap) and
  test_container/test_account;
* swiftcrypt's account_keymaster (a root secret per account, created in the
  session's real Barbican by the account's first write) with
  ``encrypt_account_metadata`` and ``encrypt_container_metadata``:
  test_object.py and tests.py, and what container metadata goes through:
  test_container.py, and test_staticweb/test_tempurl, whose middlewares read
  container metadata. Afterwards each tempauth account the tests wrote to
  (AUTH_test, AUTH_test2, SERVICE_test) must have exactly one secret of its
  own in Barbican, the secrets must differ, and every object at rest (the
  tests' leftovers, and one written to AUTH_test and AUTH_test2 after the
  run) must name its own account's secret in its key ids.

swiftcrypt's kms_keymaster runs Swift's object, container, account and
access-control tests in Keystone mode, on the reference pipeline
(test_keystone_pipeline.py), so there is no tempauth kms run here. The
middleware modules run here only: a keymaster hands the encryption filter
keys per path and nothing else, whichever keymaster and auth it is, and the
Keystone run's object and container tests exercise those with kms.

The proxy also gets what Swift's own functional setup adds (domain_remap,
etag-quoter, allow_open_expired, a service account), so that few tests skip.

Each swiftcrypt configuration must give every test the outcome (passed,
skipped, failed) it has with Swift's encryption; skips depend on cluster
features (e.g. keystone-only tests).
"""

import json
import os
import uuid

import pytest

from swiftcrypt.keymasters.account_secrets import NAME_PREFIX
from tests.integration.swift import at_rest, functests
from tests.integration.swift.conftest import (
    connect,
    swift_crypto,
    swiftcrypt_crypto,
)
from tests.integration.swift_cluster import Crypto, SwiftCluster

ALL_FILES = functests.DEFAULT_FILES + functests.MIDDLEWARE_FILES
# the account_keymaster run: the core API, and what container metadata goes through
ACCOUNT_FILES = functests.DEFAULT_FILES + tuple(
    path for path in functests.CONTAINER_FILES if path not in functests.DEFAULT_FILES)
# account_keymaster is where per-account keys matter: account and container
# metadata take their keys from the account's secret too
ACCOUNT_META = {"encrypt_account_metadata": "true", "encrypt_container_metadata": "true"}
# the Barbican project (no auth) of the account_keymaster run, its own so
# that every secret listed in it was made by that run
ACCOUNT_PROJECT = "swift-account-functests-" + uuid.uuid4().hex[:8]
# the accounts test_object.py and tests.py write to: test.conf's account and
# account2 (tester3 is a user of AUTH_test), and the SERVICE_ account of
# test that tests.py's service token tests write to (functests.TEMPAUTH_OPTIONS)
WRITTEN_ACCOUNTS = ("AUTH_test", "AUTH_test2", "SERVICE_test")


def account_crypto(request):
    """swiftcrypt's account_keymaster on the session's Barbican, with the
    connection options in a mode-0600 ``keymaster_config_path`` file as
    etc/account-keymaster.conf-sample has them, and swiftcrypt's encryption
    with ACCOUNT_META."""
    barbican = request.getfixturevalue("barbican_noauth")
    path = request.getfixturevalue("tmp_path_factory").mktemp("account-keymaster") / "km.conf"
    path.write_text("[account_keymaster]\n" + "".join("%s = %s\n" % item for item in {
        "auth_type": "noauth", "barbican_endpoint": barbican.endpoint,
        "project_id": ACCOUNT_PROJECT, "timeout": "10", "retries": "1"}.items()))
    os.chmod(path, 0o600)
    return Crypto("account", "swiftcrypt", options={"keymaster_config_path": str(path)},
                  encryption_options=ACCOUNT_META)


def secret_ids_at_rest(cluster):
    """{account: {secret_id of the body key id}} over every object .data
    file with an encrypted body (the account from its stored name), after
    one more object is written to AUTH_test and AUTH_test2: Swift's
    teardown_package deletes what the tests left in AUTH_test."""
    for account, user in (("test", "tester"), ("test2", "tester2")):
        conn = connect(cluster, account, user)
        try:
            conn.put_container("after-functests")
            conn.put_object("after-functests", "probe", b"written after the run" * 8)
        finally:
            conn.close()
    found = {}
    for stored in at_rest.stored_objects(cluster):
        meta = stored.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
        if meta:
            account = stored.name.split("/")[1]
            found.setdefault(account, set()).add(meta["key_id"].get("secret_id"))
    return found

#: name -> (what it is, crypto maker given the fixture request, test files)
PIPELINES = {
    "swift": ("Swift's keymaster + encryption", lambda request: swift_crypto(), ALL_FILES),
    "swiftcrypt": ("swiftcrypt's keymaster + encryption",
                   lambda request: swiftcrypt_crypto(), ALL_FILES),
    "account": ("swiftcrypt's account_keymaster (Barbican) + encryption with "
                "encrypt_account_metadata and encrypt_container_metadata",
                account_crypto, ACCOUNT_FILES),
}
#: name -> what to read from the cluster after the run, before it stops
#: (Result.inspected)
INSPECT = {"account": secret_ids_at_rest}

#: name -> {test id: why its outcome may legitimately differ from Swift's}
EXPECTED_DIFFERENCES = {
    "swiftcrypt": {},
    "account": {},
}


def run_against(crypto, files, inspect=None):
    """The Result of the functional test ``files`` on a fresh cluster
    running ``crypto``; ``inspect(cluster)`` goes to its ``inspected``."""
    cluster = SwiftCluster()
    try:
        functests.start_cluster(cluster, crypto)
        result = functests.run(cluster, files=files)
        if inspect is not None:
            result.inspected = inspect(cluster)
        return result
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
            _what, make, files = PIPELINES[name]
            self.results[name] = run_against(make(self.request), files, INSPECT.get(name))
            self.save()
        return self.results[name]

    def save(self):
        summary = {}
        for name, result in self.results.items():
            summary[name] = {
                "passed": result.passed, "skipped": result.skipped,
                "failures": result.failures, "errors": result.errors,
                "seconds": round(result.seconds, 1), "failed": result.failed_ids,
                "per_module": {path: result.counts_of([path]) for path in PIPELINES[name][2]},
            }
        path = os.path.join(functests.cache_dir(), "swift-functests-last.json")
        with open(path, "w") as fh:
            json.dump(summary, fh, indent=2)


@pytest.fixture(scope="module")
def results(request):
    return Runs(request)


def report(capsys, name, result):
    with capsys.disabled():
        print()
        print("Swift %s functional tests (%s) with %s: %s"
              % (functests.SWIFT_VERSION,
                 " ".join(os.path.basename(path) for path in PIPELINES[name][2]),
                 PIPELINES[name][0], result.summary()))


def test_swift_own_encryption_baseline(results, capsys):
    own = results["swift"]
    report(capsys, "swift", own)
    assert own.failures == 0 and own.errors == 0, (
        "the cluster itself fails Swift's tests with Swift's own encryption:\n%s\n%s"
        % ("\n".join(own.failed_ids), own.output[-6000:]))
    assert own.passed > 800
    # a module skipping most of its tests (a feature the proxy lacks, such as
    # domain_remap for staticweb's) tests little
    idle = {path: counts for path, counts in ((path, own.counts_of([path])) for path in ALL_FILES)
            if counts["passed"] == 0 or counts["skipped"] > counts["passed"]}
    assert not idle, "modules that mostly skipped: %s" % idle


def assert_same_result_as_swift(results, name, capsys):
    own, ours = results["swift"], results[name]
    report(capsys, name, ours)
    files = PIPELINES[name][2]
    expected = EXPECTED_DIFFERENCES[name]
    diff = functests.differences(own.outcomes_of(files), ours.outcomes_of(files))
    unexpected = ["%s: %s with Swift, %s here" % (ident, *diff[ident])
                  for ident in sorted(diff) if ident not in expected]
    assert not unexpected, "with %s, outcomes differ from Swift's:\n%s\n\n%s" % (
        PIPELINES[name][0], "\n".join(unexpected), ours.output[-8000:])
    assert ours.outcomes_of(files), "no test ran"


def test_swiftcrypt_same_result_as_swift(results, capsys):
    assert_same_result_as_swift(results, "swiftcrypt", capsys)


def account_secrets(barbican, project):
    """{secret name: [(secret id, payload bytes)]} of every secret in the
    Barbican ``project``, read through the Barbican API."""
    from swiftcrypt.keymanager.barbican import secret_uuid

    client = barbican.client(project_id=project)
    found, offset = {}, 0
    while True:
        page = client.secrets.list(limit=100, offset=offset)
        for secret in page:
            found.setdefault(secret.name, []).append(
                (secret_uuid(secret.secret_ref), secret.payload))
        if len(page) < 100:
            return found
        offset += len(page)


def test_account_keymaster_same_result_as_swift_one_secret_per_account(
        results, capsys, barbican_noauth):
    assert_same_result_as_swift(results, "account", capsys)

    secrets = account_secrets(barbican_noauth, ACCOUNT_PROJECT)
    names = {NAME_PREFIX + account for account in WRITTEN_ACCOUNTS}
    # the run made a secret for each account it wrote to, and for no other
    assert set(secrets) == names, sorted(secrets)
    assert all(len(found) == 1 for found in secrets.values()), secrets.keys()
    ids = {name[len(NAME_PREFIX):]: found[0][0] for name, found in secrets.items()}
    payloads = [found[0][1] for found in secrets.values()]
    assert all(isinstance(p, bytes) and len(p) == 32 for p in payloads)
    assert len(set(payloads)) == len(payloads), "two accounts share a root secret"

    # each object at rest (the tests' leftovers and the probes written after
    # them) was encrypted under its own account's secret
    at_rest_ids = results["account"].inspected
    assert {"AUTH_test", "AUTH_test2"} <= set(at_rest_ids), at_rest_ids
    wrong = {account: secret_ids for account, secret_ids in at_rest_ids.items()
             if secret_ids != {ids.get(account)}}
    assert not wrong, "objects not under their account's secret: %s (secrets: %s)" % (
        wrong, ids)
