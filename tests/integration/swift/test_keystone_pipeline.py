"""The reference deployment, for real: one Swift cluster whose proxy runs
the reference pipeline as written (keystone_proxy.REFERENCE_PIPELINE),
authenticating with the session's real Keystone (authtoken + keystoneauth,
operator roles, reseller prefixes AUTH and SERVICE, a service user), the
root secret in the session's Barbican behind that Keystone, read by a
kms_keymaster that logs in with a password. The secret belongs to the
admin project and the proxy's user reads it through a Barbican ACL.

* The pipeline line is the reference one, and Swift's proxy adds
  gatekeeper and listing_formats to it (its log says so); the proxy
  configuration in doc/deployment.md is the one this module runs.
* Swift's functional tests in Keystone (v3) mode with Swift's
  kms_keymaster + encryption, with swiftcrypt's, and with swiftcrypt's
  account_keymaster + encryption, on the same pipeline: the same outcome
  per test id (FILES), the Keystone-only tests passing.
* An object written through it is ciphertext at rest, as the operator's
  check in doc/deployment.md (swift-get-nodes, swift-object-info) shows.
* swiftcrypt's account_keymaster in the same pipeline: a project member
  writes and reads AUTH_<project id>; another project's operator is refused
  by keystoneauth (403) and no secret is ever made for an account nobody
  could write (checked through Barbican's API).
* s3api + s3token (EC2 credentials in Keystone) in the same pipeline:
  boto3 round trips, multipart upload, ranged reads, ciphertext at rest.
"""

import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest
import requests

from swiftcrypt.keymasters.account_secrets import NAME_PREFIX
from swiftcrypt.common.checksums import md5 as checksum_md5
from swiftcrypt.common.checksums import md5_hex
from tests.integration.swift import at_rest, functests
from tests.integration.swift import keystone_proxy as kp
from tests.integration.swift.conftest import make_body
from tests.integration.swift_cluster import Crypto, SwiftCluster

#: Swift's functional modules run in Keystone mode, the same for Swift's
#: kms_keymaster, swiftcrypt's and swiftcrypt's account_keymaster: those
#: whose requests depend on who is asking (object, container and account
#: APIs, cross-account and container ACLs, service tokens) and
#: test_access_control.py, which runs only with Keystone. The middleware
#: modules (slo, dlo, tempurl, staticweb, versioned_writes, ...) reach the
#: encryption filter the same way whatever authenticated the request:
#: test_swift_functional.py's tempauth runs cover them with Swift's
#: keymaster, swiftcrypt's and swiftcrypt's kms_keymaster, at ~2 min a
#: configuration less here. test_object.py's account-ACL tests (tempauth's),
#: test_etag_quoter and test_open_expired_enabled (etag-quoter and
#: allow_open_expired, not in the reference configuration) skip here.
KEYSTONE_FILES = ("test/functional/test_object.py", "test/functional/tests.py",
                  "test/functional/test_container.py", "test/functional/test_account.py",
                  "test/functional/test_access_control.py")
#: configuration -> the modules it runs
FILES = {"swift": KEYSTONE_FILES, "swiftcrypt": KEYSTONE_FILES, "account": KEYSTONE_FILES}
#: tests that skip unless the cluster runs Keystone: they must pass here
KEYSTONE_ONLY = (
    "test.functional.test_access_control.TestRBAC::test_rbac",
    "test.functional.test_access_control.TestRBAC::test_rbac_with_service_prefix",
    "test.functional.test_access_control.TestContainerACL::test_container_acl",
    "test.functional.test_access_control.TestRBACInfo::test_rbac_info",
    "test.functional.test_access_control.TestRBACInfo::test_rbac_info_with_service_prefix",
    "test.functional.test_account.TestAccountInNonDefaultDomain::test_project_domain_id_header",
) + tuple("test.functional.test_container.TestContainerACLsAccount1::"
                "test_cross_account_acl_%s_%s_default_domain" % (kind, where)
                for kind in ("names", "ids") for where in ("with_user_in_non", "in")) + tuple(
    "test.functional.test_container.TestContainerACLsAccount4::"
    "test_cross_account_acl_%s_with_project_in_non_default_domain" % kind
    for kind in ("names", "ids"))
#: test id -> why it fails with Swift's own filters too (not a crypto matter)
SWIFT_FAILURES = {
    "test.functional.test_access_control.TestRBAC::" + name:
        "a user's token as X-Service-Token: 401 with service_token_roles_required "
        "(keystonemiddleware's default since 13.0); the test expects it accepted"
    for name in ("test_rbac", "test_rbac_with_service_prefix")}
SWIFT_CRYPTO = ("egg:swift#kms_keymaster", "egg:swift#encryption")
SWIFTCRYPT_CRYPTO = ("egg:swiftcrypt#kms_keymaster", "egg:swiftcrypt#encryption")
# what Swift's proxy adds to the reference pipeline (required filters)
RUNNING_PIPELINE = kp.REFERENCE_PIPELINE.replace(
    "catch_errors ", "catch_errors gatekeeper ", 1).replace(
    "cache ", "cache listing_formats ", 1)


class Deployment:
    """The cluster, Keystone and Barbican of this module."""

    def __init__(self, cluster, keystone, barbican, identities, key_id):
        self.cluster = cluster
        self.keystone = keystone
        self.barbican = barbican
        self.ids = identities
        self.key_id = key_id
        self.running = None

    def use(self, name):
        """Restart the proxy with configuration ``name`` (swift,
        swiftcrypt, account, s3) unless it runs it already."""
        if self.running == name:
            return self.cluster
        ks, cl = self.keystone, self.cluster
        kms = kp.kms_options(ks, self.key_id)
        if name == "swift":
            sections = kp.reference_sections(cl, ks, SWIFT_CRYPTO[0], kms, SWIFT_CRYPTO[1])
        elif name == "swiftcrypt":
            sections = kp.reference_sections(cl, ks, SWIFTCRYPT_CRYPTO[0], kms,
                                             SWIFTCRYPT_CRYPTO[1])
        elif name == "account":
            options = {k: v for k, v in kms.items() if k != "key_id"}
            options.update(timeout="10", retries="1")
            sections = kp.reference_sections(
                cl, ks, "egg:swiftcrypt#account_keymaster", options, SWIFTCRYPT_CRYPTO[1],
                pipeline=kp.REFERENCE_PIPELINE.replace("kms_keymaster", "account_keymaster"),
                keymaster_name="account_keymaster")
        elif name == "s3":
            sections = kp.reference_sections(
                cl, ks, SWIFTCRYPT_CRYPTO[0], kms, SWIFTCRYPT_CRYPTO[1],
                # after authtoken, as s3api's docs say: an authtoken after
                # s3token drops the identity s3token set
                pipeline=kp.REFERENCE_PIPELINE.replace("authtoken keystone",
                                                       "authtoken s3api s3token keystone"),
                extra=kp._section("s3api", kp.S3API_OPTIONS)
                + kp._section("s3token", kp.s3token_options(ks)))
        else:
            raise ValueError(name)
        self.running = None
        cl.restart_proxy_with_conf(sections)
        self.running = name
        return cl

    def token(self, user, project, domain="default"):
        """(storage URL, token) of a Keystone user scoped to ``project``."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        password = {u[2]: u[3] for u in kp.FUNC_USERS.values()}.get(user) or PASSWORDS[user]
        auth = v3.Password(auth_url=self.keystone.auth_url, username=user, password=password,
                           user_domain_id=domain, project_name=project,
                           project_domain_id=domain)
        sess = session.Session(auth=auth, timeout=30)
        pid = sess.get_project_id()
        return "%s/v1/AUTH_%s" % (self.cluster.url, pid), sess.get_token()

    def service_barbican(self):
        """barbicanclient as the proxy's service user (its own project)."""
        name, password = kp.SERVICE_USER
        return self.barbican.client(session=self.keystone.session(
            name, password, project_name=kp.SERVICE_PROJECT))


# account_keymaster's projects: alice operates project-a, bob project-b;
# nobody has a role on project-c
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


@pytest.fixture(scope="module")
def deployment(keystone, barbican_keystone):
    ids = kp.Identities(keystone)
    for user, project in (("alice", "project-a"), ("bob", "project-b")):
        ids.user_ids[user] = keystone.create_user(user, PASSWORDS[user], project,
                                                  roles=("swiftoperator",))
        ids.project_ids[project] = keystone.create_project(project)
    ids.project_ids["project-c"] = keystone.create_project("project-c")
    # the root secret: the admin project's, readable by the proxy's user
    # through an ACL (doc/deployment.md, "The Barbican side")
    key_id = barbican_keystone.store_secret(os.urandom(32), session=keystone.admin,
                                            name="swift root secret")
    admin = barbican_keystone.client(session=keystone.admin)
    admin.acls.create(entity_ref="%s/v1/secrets/%s" % (barbican_keystone.endpoint, key_id),
                      users=[ids.user_ids[kp.SERVICE_USER[0]]]).submit()
    cluster = SwiftCluster()
    try:
        cluster.start(Crypto())
        ids.register_swift(cluster.url)
        yield Deployment(cluster, keystone, barbican_keystone, ids, key_id)
    finally:
        cluster.stop()


def proxy_log(cluster):
    with open(os.path.join(cluster.logs, "proxy.log"), "rb") as fh:
        return fh.read().decode("utf-8", "replace")


def test_reference_pipeline_as_written_runs_with_swifts_required_filters(deployment):
    cluster = deployment.use("swiftcrypt")
    with open(os.path.join(cluster.etc, "proxy-server.conf")) as fh:
        conf = fh.read()
    assert "\npipeline = %s\n" % kp.REFERENCE_PIPELINE in conf
    # Swift's proxy inserts the filters it requires and the reference
    # pipeline lacks (gatekeeper, listing_formats); symlink is not one of them
    modified = re.findall(r'Pipeline was modified\. New pipeline is "([^"]*)"',
                          proxy_log(cluster))
    assert modified, proxy_log(cluster)[-3000:]
    assert modified[-1] == RUNNING_PIPELINE, modified[-1]


DEPLOYMENT_DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "doc",
                              "deployment.md")


def doc_ini_blocks():
    """The ```ini blocks of doc/deployment.md's proxy configuration
    section, parsed (other sections show other daemons' configs)."""
    import configparser

    with open(DEPLOYMENT_DOC) as fh:
        text = fh.read()
    start = text.index("\n## 3. The proxy configuration")
    text = text[start:text.index("\n## ", start + 1)]
    blocks = []
    for block in re.findall(r"```ini\n(.*?)```", text, re.S):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read_string(textwrap.dedent(block))
        blocks.append(parser)
    return blocks


def test_deployment_doc_proxy_conf_is_the_tested_one(deployment):
    import configparser

    ks, cluster = deployment.keystone, deployment.cluster
    # the doc's placeholders, as this deployment fills them in
    values = {"https://keystone.example.com:5000/v3": ks.auth_url,
              "https://keystone.example.com:5000": ks.url,
              "swift": kp.SERVICE_USER[0], "SWIFT_PASSWORD": kp.SERVICE_USER[1],
              "ROOT_SECRET_ID": deployment.key_id,
              "memcache.example.com:11211": cluster.memcache_servers()}
    tested = configparser.ConfigParser(interpolation=None)
    tested.optionxform = str
    tested.read_string(kp.reference_sections(
        cluster, ks, SWIFTCRYPT_CRYPTO[0], kp.kms_options(ks, deployment.key_id),
        SWIFTCRYPT_CRYPTO[1]) + kp._section("s3api", kp.S3API_OPTIONS)
        + kp._section("s3token", kp.s3token_options(ks)))
    documented = {}
    for parser in doc_ini_blocks():
        for name in parser.sections():
            documented[name] = {k: values.get(v, v) for k, v in parser.items(name)}
    assert set(documented) == set(tested.sections())
    for name in tested.sections():
        assert documented[name] == dict(tested.items(name)), name


def plaintext_absent(cluster, *needles):
    """Every .data/.meta file's bytes and xattrs are free of ``needles``."""
    for path in cluster.object_meta_files():
        with open(path, "rb") as fh:
            blob = fh.read() + at_rest.raw_metadata(path)
        for needle in needles:
            assert needle not in blob, (path, needle[:40])


def swift_tool(name):
    """A console script of the Swift the cluster runs."""
    return os.path.join(os.path.dirname(sys.executable), name)


def test_object_encrypted_at_rest_as_swift_object_info_shows(deployment):
    cluster = deployment.use("swiftcrypt")
    url, token = deployment.token("tester", "test")
    body = make_body("keystone-at-rest", 5000)
    container, name = "at-rest-" + uuid.uuid4().hex[:8], "probe"
    headers = {"X-Auth-Token": token}
    assert requests.put(url + "/" + container, headers=headers, timeout=30).status_code == 201
    resp = requests.put("%s/%s/%s" % (url, container, name), data=body, timeout=30,
                        headers=dict(headers, **{"X-Object-Meta-Color": "keystone-plain-meta"}))
    assert resp.status_code == 201, resp.text
    got = requests.get("%s/%s/%s" % (url, container, name), headers=headers, timeout=30)
    assert got.content == body and got.headers["X-Object-Meta-Color"] == "keystone-plain-meta"
    stored = at_rest.find(cluster, "/%s/%s/%s" % (url.rsplit("/", 1)[1], container, name))
    plaintext_absent(cluster, body[:64], b"keystone-plain-meta")
    # the operator's check (doc/deployment.md): swift-get-nodes finds the
    # .data (-d: this cluster's swift.conf is not in /etc/swift)
    account = url.rsplit("/", 1)[1]
    nodes = subprocess.run(
        [swift_tool("swift-get-nodes"), "-d", cluster.etc,
         os.path.join(cluster.etc, "object.ring.gz"), account, container, name],
        capture_output=True, text=True, timeout=60)
    assert nodes.returncode == 0, nodes.stderr
    partition_dir = stored.path.split(os.sep + "objects" + os.sep, 1)[1].split(os.sep)[0]
    assert "Partition\t%s" % partition_dir in nodes.stdout, nodes.stdout
    # ... and swift-object-info on it shows the crypto metadata
    info = subprocess.run(
        [swift_tool("swift-object-info"), "-d", cluster.etc, stored.path],
        capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    assert "X-Object-Sysmeta-Crypto-Body-Meta" in info.stdout, info.stdout
    assert "X-Object-Sysmeta-Crypto-Etag" in info.stdout, info.stdout
    # the stored ETag is the ciphertext's MD5, which the file's bytes match
    assert "ETag: %s (valid)" % md5_hex(stored.body) in info.stdout, info.stdout
    assert "X-Object-Meta-Color" not in info.stdout
    assert "X-Object-Transient-Sysmeta-Crypto-Meta-Color" in info.stdout, info.stdout
    assert "keystone-plain-meta" not in info.stdout
    assert md5_hex(body) not in info.stdout  # the etag is encrypted too


def save(results):
    """Counts and per-test outcomes so far to swift-keystone-functests-last.json
    in the cache dir (what the CI note quotes; what a failure is read from)."""
    import json

    path = os.path.join(functests.cache_dir(), "swift-keystone-functests-last.json")
    with open(path, "w") as fh:
        json.dump({name: {"summary": result.summary(), "seconds": round(result.seconds, 1),
                          "per_module": {p: result.counts_of([p]) for p in FILES[name]},
                          "outcomes": result.outcomes}
                   for name, result in results.items()}, fh, indent=1, sort_keys=True)


@pytest.fixture(scope="module")
def functional(deployment):
    """{configuration: functests.Result}, each run once when first asked for."""
    results = {}

    def get(name):
        if name not in results:
            cluster = deployment.use(name)
            results[name] = functests.run(cluster, files=FILES[name],
                                          test_conf=kp.func_test_conf(deployment.keystone))
            save(results)
        return results[name]
    return get


def report(capsys, name, what, result):
    with capsys.disabled():
        print("\nSwift %s functional tests in Keystone mode (%s) with %s: %s" % (
            functests.SWIFT_VERSION, " ".join(os.path.basename(f) for f in FILES[name]), what,
            result.summary()))
        for path in FILES[name]:
            print("  %s: %s" % (os.path.basename(path), result.counts_of([path])))


def test_swift_functional_keystone_mode_with_swifts_kms_keymaster(functional, capsys):
    own = functional("swift")
    report(capsys, "swift", "Swift's kms_keymaster + encryption", own)
    assert set(own.failed_ids) == set(SWIFT_FAILURES), (
        "\n".join(own.failed_ids) + own.output[-6000:])
    for ident in KEYSTONE_ONLY:
        if ident not in SWIFT_FAILURES:
            assert own.outcomes.get(ident) == "passed", (ident, own.outcomes.get(ident))
    for path in FILES["swift"]:
        counts = own.counts_of([path])
        assert counts["passed"] > counts["skipped"], (path, counts)


def assert_same_outcomes_as_swift(functional, capsys, name, what):
    own, ours = functional("swift"), functional(name)
    report(capsys, name, what, ours)
    files = FILES[name]
    diff = functests.differences(own.outcomes_of(files), ours.outcomes_of(files))
    assert not diff, "outcomes differ from Swift's:\n%s\n%s" % (
        "\n".join("%s: %s with Swift, %s here" % (i, *diff[i]) for i in sorted(diff)),
        ours.output[-6000:])
    assert ours.outcomes_of(files), "no test ran"


def test_swift_functional_keystone_mode_same_outcomes_with_swiftcrypt(functional, capsys):
    assert_same_outcomes_as_swift(functional, capsys, "swiftcrypt",
                                  "swiftcrypt's kms_keymaster + encryption")


def test_swift_functional_keystone_mode_same_outcomes_with_account_keymaster(functional,
                                                                           capsys):
    assert_same_outcomes_as_swift(functional, capsys, "account",
                                  "swiftcrypt's account_keymaster + encryption")


# -- account_keymaster --------------------------------------------------------------

def account_secrets(deployment, account):
    """The Barbican secrets named for ``account`` (Barbican's API, as the
    proxy's user in its project: where account_keymaster keeps them)."""
    found = deployment.service_barbican().secrets.list(name=NAME_PREFIX + account)
    return [s for s in found if s.name == NAME_PREFIX + account]


def test_account_keymaster_member_reads_and_writes_other_project_refused_no_secret(deployment):
    deployment.use("account")
    alice_url, alice = deployment.token("alice", "project-a")
    bob_url, bob = deployment.token("bob", "project-b")
    account_a = alice_url.rsplit("/", 1)[1]
    pid = deployment.ids.project_ids
    assert account_a == "AUTH_" + pid["project-a"]
    url_c = "%s/v1/AUTH_%s" % (deployment.cluster.url, pid["project-c"])

    # bob (operator of project-b) writes to project-a's and project-c's
    # accounts: keystoneauth refuses before any key is asked for
    for url in (alice_url, url_c):
        for method, path, body in (("PUT", "/c", None), ("PUT", "/c/o", b"bob's data"),
                                   ("POST", "", None), ("POST", "/c", None)):
            resp = requests.request(method, url + path, data=body, timeout=30,
                                    headers={"X-Auth-Token": bob, "X-Object-Meta-M": "v",
                                             "X-Container-Meta-M": "v",
                                             "X-Account-Meta-M": "v"})
            assert resp.status_code == 403, (method, url + path, resp.status_code, resp.text)
    assert account_secrets(deployment, account_a) == []
    assert account_secrets(deployment, "AUTH_" + pid["project-c"]) == []

    # alice writes and reads her project's account; its secret is made
    headers = {"X-Auth-Token": alice}
    body = make_body("account-keymaster-keystone", 3000)
    assert requests.put(alice_url + "/c", headers=headers, timeout=30).status_code == 201
    resp = requests.put(alice_url + "/c/o", data=body, timeout=30,
                        headers=dict(headers, **{"X-Object-Meta-M": "alice-meta-value"}))
    assert resp.status_code == 201, resp.text
    got = requests.get(alice_url + "/c/o", headers=headers, timeout=30)
    assert got.status_code == 200 and got.content == body
    assert got.headers["X-Object-Meta-M"] == "alice-meta-value"
    secrets = account_secrets(deployment, account_a)
    assert len(secrets) == 1
    stored = at_rest.find(deployment.cluster, "/%s/c/o" % account_a)
    meta = stored.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
    assert meta["key_id"]["secret_id"] == secrets[0].secret_ref.rstrip("/").rsplit("/", 1)[1]
    assert body[:64] not in stored.body

    # bob still cannot read or overwrite it; nothing more is made
    for method in ("GET", "PUT", "DELETE"):
        resp = requests.request(method, alice_url + "/c/o", data=b"x", timeout=30,
                                headers={"X-Auth-Token": bob})
        assert resp.status_code == 403, (method, resp.status_code)
    assert len(account_secrets(deployment, account_a)) == 1
    assert account_secrets(deployment, "AUTH_" + pid["project-c"]) == []
    assert account_secrets(deployment, bob_url.rsplit("/", 1)[1]) == []


# -- s3api + s3token ----------------------------------------------------------------

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(deployment):
    import boto3
    from botocore.config import Config

    deployment.use("s3")
    ks = deployment.keystone
    access, secret = ks.ec2_credentials(deployment.ids.user_ids["tester"],
                                        deployment.ids.project_ids["test"])
    return boto3.client(
        "s3", endpoint_url=deployment.cluster.url, region_name="us-east-1",
        aws_access_key_id=access, aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def md5(data):
    return md5_hex(data)


def test_s3_with_s3token_round_trip_ranged_reads_at_rest(deployment, s3):
    deployment.use("s3")
    bucket = "s3ks-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    body = make_body("s3token-simple", 200000)
    resp = s3.put_object(Bucket=bucket, Key="k/\u00e9.bin", Body=body,
                         Metadata={"secret": "s3token-user-meta"})
    assert resp["ETag"] == '"%s"' % md5(body)
    got = s3.get_object(Bucket=bucket, Key="k/\u00e9.bin")
    assert got["Body"].read() == body and got["Metadata"] == {"secret": "s3token-user-meta"}
    ranged = s3.get_object(Bucket=bucket, Key="k/\u00e9.bin", Range="bytes=65530-65545")
    assert ranged["Body"].read() == body[65530:65546]
    assert ranged["ContentRange"] == "bytes 65530-65545/%d" % len(body)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k/\u00e9.bin"})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body
    # the bucket is a container of the Keystone project's account
    stored = at_rest.find(deployment.cluster, "/AUTH_%s/%s/k/\u00e9.bin" % (
        deployment.ids.project_ids["test"], bucket))
    assert stored.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
    plaintext_absent(deployment.cluster, body[:64], body[-64:], b"s3token-user-meta")


def test_s3_with_s3token_multipart_upload_and_ranged_reads(deployment, s3):
    deployment.use("s3")
    bucket = "s3ks-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    parts = [make_body("s3token-part-%d" % i, size)
             for i, size in enumerate((5 * MIB, MIB + 123))]
    whole = b"".join(parts)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")
    done = []
    for number, data in enumerate(parts, 1):
        resp = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                              PartNumber=number, Body=data)
        assert resp["ETag"] == '"%s"' % md5(data)
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    resp = s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": done})
    assert resp["ETag"] == '"%s-2"' % md5(b"".join(checksum_md5(p).digest() for p in parts))
    assert s3.get_object(Bucket=bucket, Key="mpu")["Body"].read() == whole
    for first, last in ((0, 99), (5 * MIB - 10, 5 * MIB + 9), (len(whole) - 50, len(whole) - 1)):
        got = s3.get_object(Bucket=bucket, Key="mpu", Range="bytes=%d-%d" % (first, last))
        assert got["Body"].read() == whole[first:last + 1]
    plaintext_absent(deployment.cluster, parts[0][:64], parts[1][-64:])
