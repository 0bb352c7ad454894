"""Swift's background daemons that touch encrypted objects, run once each
(``SwiftCluster.run_daemon``) on the session's one-node cluster, whose proxy
runs swiftcrypt's keymaster and encryption.

- container-sync: its internal client GETs each new object and the daemon
  PUTs it to the other container through that cluster's proxy. With
  swiftcrypt's filters in the internal client, the copy reads back
  identically and is encrypted again under its own path; without them, the
  other side silently stores the ciphertext as if it were the body and loses
  the user metadata.
- object-expirer: deletes expired encrypted objects with an internal client
  that has no crypto filters (it only sends DELETEs).
- container-reconciler: moves a misplaced encrypted object from the
  replicated policy to the EC one as stored bytes and sysmeta, after which
  it still decrypts. With the crypto filters in its pipeline it re-encrypts
  with its own keymaster's keys instead; if those are not the proxies', it
  reports success, deletes the source and leaves an object the proxies
  cannot decrypt.

No cluster of its own: the daemons run against the session cluster
(tests/integration/swift/conftest.py), each as one short process; the
module restarts the proxy once (Swift's container_sync middleware added).
doc/deployment.md, "Swift's daemons and internal clients", is written from
these tests.
"""

import base64
import os
import socket
import time
from urllib.parse import quote

import pytest
from swiftclient import ClientException

from swiftcrypt.common.checksums import md5_hex
from tests.integration.swift import at_rest
from tests.integration.swift.conftest import (
    ROOT_SECRET, connect, make_body, swift_crypto, swiftcrypt_crypto, unique)
from tests.integration.swift_cluster import (
    EC_POLICY_INDEX, PIPELINE_HEAD, SYNC_CLUSTER, SYNC_REALM, ClusterError,
    swift_filter_section, use_swift_conf)

SYNC_KEY = "daemons-test-sync-key"

# The internal client pipeline of Swift's internal-client.conf-sample, with
# the crypto filters (when any) where the proxy has them: right before the
# app (no proxy-logging after them: an internal client logs once).
IC_FILTERS = ("catch_errors", "proxy-logging", "cache", "symlink")
# The reconciler's, as Swift's container-reconciler.conf-sample has it: no
# middleware that transforms or redirects (not even symlink)
RECONCILER_FILTERS = ("catch_errors", "proxy-logging", "cache")


@pytest.fixture(scope="module")
def daemons(cluster):
    """The session cluster, its proxy running swiftcrypt's filters and Swift's
    container_sync middleware, which lets in the sync daemon's requests
    signed with the realm's key and the container's sync key (without it,
    or with a full URL as X-Container-Sync-To, tempauth answered the
    daemon's HEADs 401). Restarted once for the module."""
    cluster.use(swiftcrypt_crypto())
    common, text = cluster._common("proxy"), cluster.proxy_conf()
    assert text.startswith(common)
    head = "pipeline = " + PIPELINE_HEAD
    assert " cache " in head and head in text
    sections = text[len(common):].replace(
        head, head.replace(" cache ", " cache container_sync ", 1), 1)
    return cluster.restart_proxy_with_conf(sections + swift_filter_section("container_sync"))


@pytest.fixture
def connect_as(daemons):
    """``connect_as(account, user)``: a swiftclient connection to the
    cluster, closed after the test."""
    made = []

    def make(account="test", user="tester"):
        made.append(connect(daemons, account, user))
        return made[-1]

    yield make
    for conn in made:
        conn.close()


def internal_client_sections(cluster, crypto=None, filters=IC_FILTERS):
    """Paste sections of an internal client's pipeline (no [DEFAULT])."""
    names = list(filters) + (crypto.filters() if crypto else []) + ["proxy-server"]
    options = {"cache": {"memcache_servers": cluster.memcache_servers()}}
    text = "[pipeline:main]\npipeline = %s\n\n" % " ".join(names)
    text += ("[app:proxy-server]\nuse = egg:swift#proxy\n"
             "account_autocreate = true\n\n")
    text += "".join(swift_filter_section(name, options.get(name)) for name in filters)
    return text + (crypto.sections() if crypto else "")


def write_internal_client_conf(cluster, name):
    """etc/<name>.conf: an internal client config with no crypto filters,
    as Swift's internal-client.conf-sample; returns its path."""
    path = os.path.join(cluster.etc, "%s.conf" % name)
    with open(path, "w") as fh:
        fh.write("[DEFAULT]\nswift_dir = %s\n\n" % cluster.etc)
        fh.write(internal_client_sections(cluster))
    return path


SYNC_CLIENT_SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc",
                                  "container-sync-client.conf-sample")


def sample_sync_client_conf(cluster):
    """etc/container-sync-client.conf-sample for this cluster (its
    swift_dir, memcached and the proxies' root secret); returns its path."""
    with open(SYNC_CLIENT_SAMPLE) as fh:
        text = fh.read()
    for old, new in (
            ("# swift_dir = /etc/swift", "swift_dir = " + cluster.etc),
            ("# memcache_servers = 127.0.0.1:11211",
             "memcache_servers = " + cluster.memcache_servers()),
            ("encryption_root_secret = CHANGE-ME-the-proxies-root-secret",
             "encryption_root_secret = " + base64.b64encode(ROOT_SECRET).decode())):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = os.path.join(cluster.etc, "container-sync-client.conf")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def stored(cluster, path):
    """Every .data file stored for object ``path`` (all policies)."""
    return [s for s in at_rest.stored_objects(cluster)
            if s.name in (path, at_rest.wsgi(path))]


def tombstones(cluster, path):
    """Paths of the .ts files of object ``path`` (all policies)."""
    return [p for p in cluster.object_meta_files()
            if p.endswith(".ts") and at_rest.metadata(p).get("name") == path]


def assert_ciphertext_at_rest(cluster, path, body, meta_values):
    """``path`` has a .data, every one carries crypto meta naming ``path``,
    and no file of the object holds the body or a metadata value."""
    found = stored(cluster, path)
    assert found, "no .data for %s" % path
    for item in found:
        assert item.body_key_path() == path
        assert item.header("X-Object-Sysmeta-Crypto-Etag")
        raw = item.body + at_rest.raw_metadata(item.path)
        assert body[:32] not in raw and body[-32:] not in raw
        for value in meta_values:
            assert value.encode("utf-8") not in raw


def sync_run(cluster, ic_conf):
    return cluster.run_daemon("container-sync", {"internal_client_conf_path": ic_conf})


def sync_pair(connect_as):
    """(source connection, container, destination connection, container):
    test:tester's container syncing to test2:tester2's."""
    src, dst = connect_as("test", "tester"), connect_as("test2", "tester2")
    scont, dcont = unique("sync-src"), unique("sync-dst")
    dst.put_container(dcont, headers={"X-Container-Sync-Key": SYNC_KEY})
    dst_url = "//%s/%s/AUTH_test2/%s" % (SYNC_REALM, SYNC_CLUSTER, quote(dcont))
    src.put_container(scont, headers={"X-Container-Sync-To": dst_url,
                                      "X-Container-Sync-Key": SYNC_KEY})
    return src, scont, dst, dcont


def test_container_sync_with_swiftcrypt_in_its_internal_client(daemons, connect_as, plaintexts):
    cluster = daemons
    ic_conf = sample_sync_client_conf(cluster)
    src, scont, dst, dcont = sync_pair(connect_as)
    bodies = {name: plaintexts.body(make_body("sync-" + name, 20000 + i))
              for i, name in enumerate(("kept", "posted", "deleted"))}
    metas = {name: plaintexts.meta("sync-meta-%s-plaintext-value" % name) for name in bodies}
    for name, body in bodies.items():
        src.put_object(scont, name, body, content_type="application/x-sync-" + name,
                       headers={"X-Object-Meta-Tag": metas[name]})

    log = sync_run(cluster, ic_conf)
    assert "3 puts" in log, log[-2000:]
    for name, body in bodies.items():
        headers, got = dst.get_object(dcont, name)
        assert got == body
        assert headers["etag"] == md5_hex(body)
        assert headers["content-type"] == "application/x-sync-" + name
        assert headers["x-object-meta-tag"] == metas[name]
        assert not [h for h in headers if "crypto" in h]
    listing = {item["name"]: item for item in dst.get_container(dcont)[1]}
    assert {n: listing[n]["hash"] for n in bodies} == {
        n: md5_hex(b) for n, b in bodies.items()}

    # a metadata update and a delete at the source reach the other side too
    new_meta = plaintexts.meta("sync-meta-posted-later-plaintext")
    src.post_object(scont, "posted", headers={"X-Object-Meta-Tag": new_meta,
                                              "Content-Type": "application/x-sync-later"})
    src.delete_object(scont, "deleted")
    log = sync_run(cluster, ic_conf)
    assert "1 deletes" in log, log[-2000:]
    headers, got = dst.get_object(dcont, "posted")
    assert got == bodies["posted"] and headers["etag"] == md5_hex(bodies["posted"])
    assert headers["x-object-meta-tag"] == new_meta
    assert headers["content-type"] == "application/x-sync-later"
    with pytest.raises(ClientException) as err:
        dst.get_object(dcont, "deleted")
    assert err.value.http_status == 404

    # ciphertext on both sides, each under its own path (the destination's
    # copy was encrypted again by the proxy it was PUT through)
    for name in ("kept", "posted"):
        meta_values = [metas[name], new_meta]
        for account, cont in (("AUTH_test", scont), ("AUTH_test2", dcont)):
            assert_ciphertext_at_rest(cluster, "/%s/%s/%s" % (account, cont, name),
                                      bodies[name], meta_values)


def test_container_sync_with_swifts_filters_in_its_internal_client(daemons, connect_as, plaintexts):
    """A sync client configured by Swift's documentation (Swift's keymaster
    and encryption, same root secret) keeps working once the proxies run
    swiftcrypt: the format is the same."""
    cluster = daemons
    path = os.path.join(cluster.etc, "sync-client-swift.conf")
    with open(path, "w") as fh:
        fh.write("[DEFAULT]\nswift_dir = %s\n\n" % cluster.etc)
        fh.write(internal_client_sections(cluster, swift_crypto()))
    src, scont, dst, dcont = sync_pair(connect_as)
    body = plaintexts.body(make_body("sync-swift-filters", 25000))
    meta = plaintexts.meta("sync-swift-filters-meta-plaintext")
    src.put_object(scont, "obj", body, headers={"X-Object-Meta-Tag": meta})
    log = sync_run(cluster, path)
    assert "1 puts], 0 skipped, 0 failed" in log, log[-2000:]
    headers, got = dst.get_object(dcont, "obj")
    assert got == body and headers["etag"] == md5_hex(body)
    assert headers["x-object-meta-tag"] == meta
    assert_ciphertext_at_rest(cluster, "/AUTH_test2/%s/obj" % dcont, body, [meta])


def test_container_sync_without_crypto_in_its_internal_client(daemons, connect_as, plaintexts):
    cluster = daemons
    ic_conf = write_internal_client_conf(cluster, "sync-client-plain")
    src, scont, dst, dcont = sync_pair(connect_as)
    body = plaintexts.body(make_body("sync-plain", 30000))
    meta = plaintexts.meta("sync-plain-meta-plaintext-value")
    src.put_object(scont, "obj", body, content_type="application/x-sync-plain",
                   headers={"X-Object-Meta-Tag": meta})
    source = at_rest.find(cluster, "/AUTH_test/%s/obj" % scont)

    # Observed: the daemon reports success (1 put, 0 failed) and the other
    # side serves the source's ciphertext as the object's body, with an
    # ETag that matches it, so no client can tell; the user metadata is gone
    # (its encrypted form is sysmeta, which the other proxy's gatekeeper
    # drops). At rest it is the ciphertext encrypted once more.
    log = sync_run(cluster, ic_conf)
    assert "1 puts], 0 skipped, 0 failed" in log, log[-2000:]
    headers, got = dst.get_object(dcont, "obj")
    assert got != body and got == source.body
    assert headers["etag"] == md5_hex(source.body)
    assert "x-object-meta-tag" not in headers
    assert headers["content-type"] == "application/x-sync-plain"
    copy = at_rest.find(cluster, "/AUTH_test2/%s/obj" % dcont)
    assert copy.body_key_path() == "/AUTH_test2/%s/obj" % dcont
    assert copy.body != source.body and len(copy.body) == len(body)

    # Fixing the internal client does not repair what was synced: the row
    # is behind the sync point. A POST to the source object (here with its
    # own metadata again) makes the daemon send it once more, now readable.
    fixed = sample_sync_client_conf(cluster)
    sync_run(cluster, fixed)
    assert dst.get_object(dcont, "obj")[1] == source.body
    src.post_object(scont, "obj", headers={"X-Object-Meta-Tag": meta})
    log = sync_run(cluster, fixed)
    assert "1 puts], 0 skipped, 0 failed" in log, log[-2000:]
    headers, got = dst.get_object(dcont, "obj")
    assert got == body and headers["etag"] == md5_hex(body)
    assert headers["x-object-meta-tag"] == meta


def expired(conn, cont, name, timeout=30):
    """Until the proxy answers 404 for the expired object."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.head_object(cont, name)
        except ClientException as exc:
            if exc.http_status == 404:
                return
            raise
        assert time.monotonic() < deadline, "%s/%s never expired" % (cont, name)
        time.sleep(0.25)


def listed(conn, cont):
    return {item["name"]: item for item in conn.get_container(cont)[1]}


def test_object_expirer_deletes_expired_encrypted_objects(daemons, connect_as, plaintexts):
    cluster = daemons
    # the expirer only lists its queue and sends DELETEs: an internal client
    # with no crypto filters (and no root secret) is enough
    ic_conf = write_internal_client_conf(cluster, "expirer-client")
    conn = connect_as()
    cont = unique("expire")
    conn.put_container(cont)
    body = plaintexts.body(make_body("expire", 10000))
    meta = plaintexts.meta("expire-meta-plaintext-value")
    conn.put_object(cont, "gone", body, headers={"X-Delete-After": "1",
                                                 "X-Object-Meta-Tag": meta})
    conn.put_object(cont, "kept", body, headers={"X-Object-Meta-Tag": meta})
    path = "/AUTH_test/%s/gone" % cont
    assert_ciphertext_at_rest(cluster, path, body, [meta])
    expired(conn, cont, "gone")
    # expired but not reaped yet: still stored and listed
    assert stored(cluster, path) and set(listed(conn, cont)) == {"gone", "kept"}

    # the container updater reports the queue's containers to its account,
    # where the expirer looks for them first
    cluster.run_daemon("container-updater", {"interval": "1"})
    log = cluster.run_daemon("object-expirer", {
        "internal_client_conf_path": ic_conf, "interval": "1"})
    assert "DELETE /v1/AUTH_test/%s/gone" % cont in log, log[-3000:]
    assert not stored(cluster, path)
    assert tombstones(cluster, path)
    assert set(listed(conn, cont)) == {"kept"}
    headers, got = conn.get_object(cont, "kept")
    assert got == body and headers["x-object-meta-tag"] == meta


def drop_cached_container_info(cluster, account, cont):
    """Forget the proxy's memcached info about a container (its policy)."""
    key = md5_hex(("container/%s/%s" % (account, cont)).encode("utf-8"))
    host, port = cluster.memcache_servers().rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"delete %s\r\n" % key.encode("ascii"))
        answer = sock.recv(100)
    assert answer == b"DELETED\r\n", answer


@pytest.fixture
def policies(cluster):
    """This process's Swift code sees the cluster's hash path and policies."""
    restore = use_swift_conf(cluster.swift_conf)
    yield cluster
    restore()


def misplace(cluster, conn, body, headers):
    """An encrypted object stored under Policy-0 in a container that is
    now erasure coded: the proxy still had the container's old policy in
    memcache when the object was PUT, after the container had been deleted
    and created again with the other policy straight on its server (as
    another proxy would have done). Returns (container, object path)."""
    from swift.common import direct_client
    from swift.common.ring import Ring
    from swift.common.utils import Timestamp

    cont = unique("misplaced")
    conn.put_container(cont)
    assert conn.head_container(cont)["x-storage-policy"] == "Policy-0"  # now cached
    part, nodes = Ring(cluster.etc, ring_name="container").get_nodes("AUTH_test", cont)
    for node in nodes:
        direct_client.direct_delete_container(
            node, part, "AUTH_test", cont, headers={"X-Timestamp": Timestamp.now().internal})
        direct_client.direct_put_container(
            node, part, "AUTH_test", cont, headers={
                "X-Timestamp": Timestamp.now().internal,
                "X-Backend-Storage-Policy-Index": str(EC_POLICY_INDEX)})
    conn.put_object(cont, "obj", body, headers=headers)
    drop_cached_container_info(cluster, "AUTH_test", cont)
    # the container now says EC, the object is in Policy-0: not found
    assert conn.head_container(cont)["x-storage-policy"] != "Policy-0"
    with pytest.raises(ClientException) as err:
        conn.get_object(cont, "obj")
    assert err.value.http_status == 404
    return cont, "/AUTH_test/%s/obj" % cont


def reconcile(cluster, crypto=None, queue=True):
    """The replicator queues misplaced objects (unless ``queue`` is false:
    already queued), the reconciler moves them (one try per request: a
    failure stays queued for its next run anyway)."""
    if queue:
        cluster.run_daemon("container-replicator", {"interval": "1"})
    return cluster.run_daemon("container-reconciler", {"interval": "1", "request_tries": "1"},
                              sections=internal_client_sections(
                                  cluster, crypto, RECONCILER_FILTERS))


def test_container_reconciler_moves_encrypted_object_as_stored(
        daemons, policies, connect_as, plaintexts):
    cluster = daemons
    conn = connect_as()
    body = plaintexts.body(make_body("reconciler", 150000))
    meta = plaintexts.meta("reconciler-meta-plaintext-value")
    cont, path = misplace(cluster, conn, body, dict(MISPLACED_HEADERS, **{
        "X-Object-Meta-Tag": meta}))
    [before] = stored(cluster, path)
    assert "/objects/" in before.path

    log = reconcile(cluster)
    assert "'copy_success': 1" in log, log[-3000:]
    assert_reads_back(conn, cont, body, meta)
    # moved as stored: the same crypto meta (body key, IVs) now in EC
    # fragment archives, nothing left in Policy-0 but a tombstone
    after = stored(cluster, path)
    assert after and all("/objects-%d/" % EC_POLICY_INDEX in s.path for s in after)
    assert [p for p in tombstones(cluster, path) if "/objects/" in p]
    for item in after:
        for name in ("X-Object-Sysmeta-Crypto-Body-Meta", "X-Object-Sysmeta-Crypto-Etag",
                     "X-Object-Transient-Sysmeta-Crypto-Meta-Tag"):
            assert item.header(name) == before.header(name), name
    assert_ciphertext_at_rest(cluster, path, body, [meta])


def assert_reads_back(conn, cont, body, meta):
    """Body, ETag, metadata, conditional GETs and the listing's hash of
    ``cont``/obj are the plaintext's."""
    etag = md5_hex(body)
    headers, got = conn.get_object(cont, "obj")
    assert got == body and headers["etag"] == etag
    assert headers["x-object-meta-tag"] == meta
    assert headers["content-type"] == MISPLACED_HEADERS["Content-Type"]
    assert conn.get_object(cont, "obj", headers={"If-Match": etag})[1] == body
    with pytest.raises(ClientException) as err:
        conn.get_object(cont, "obj", headers={"If-None-Match": etag})
    assert err.value.http_status == 304
    assert listed(conn, cont)["obj"]["hash"] == etag


MISPLACED_HEADERS = {"Content-Type": "application/x-misplaced"}


def test_container_reconciler_with_crypto_in_its_pipeline_reencrypts(
        daemons, policies, connect_as, plaintexts):
    cluster = daemons
    conn = connect_as()
    body = plaintexts.body(make_body("reconciler-crypto", 150000))
    meta = plaintexts.meta("reconciler-crypto-meta-plaintext-value")
    cont, path = misplace(cluster, conn, body, dict(MISPLACED_HEADERS, **{
        "X-Object-Meta-Tag": meta}))
    [before] = stored(cluster, path)

    # with the proxies' own keymaster and encryption in its pipeline, the
    # reconciler decrypts what it reads and encrypts what it writes: the
    # object still reads back, but under a new body key and new IVs
    log = reconcile(cluster, swiftcrypt_crypto())
    assert "'copy_success': 1" in log, log[-3000:]
    assert_reads_back(conn, cont, body, meta)
    after = stored(cluster, path)
    assert after and all("/objects-%d/" % EC_POLICY_INDEX in s.path for s in after)
    old = before.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
    for item in after:
        new = item.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
        assert new["key_id"] == old["key_id"]
        assert new["iv"] != old["iv"] and new["body_key"] != old["body_key"]
    assert_ciphertext_at_rest(cluster, path, body, [meta])


def test_container_reconciler_with_a_wrong_root_secret_moves_nothing(
        daemons, policies, connect_as, plaintexts):
    cluster = daemons
    conn = connect_as()
    body = plaintexts.body(make_body("reconciler-wrong-secret", 70000))
    meta = plaintexts.meta("reconciler-wrong-secret-meta-plaintext")
    cont, path = misplace(cluster, conn, body, dict(MISPLACED_HEADERS, **{
        "X-Object-Meta-Tag": meta}))

    # another secret under the proxies' secret id: its GET is refused
    # (the decrypted etag does not match its MAC), so nothing moves and the
    # queue entry stays for the next run
    log = reconcile(cluster, swiftcrypt_crypto(secrets={None: os.urandom(32)}))
    assert "why=wrong_key" in log and "'unavailable_source': 1" in log, log[-3000:]
    assert "copy_attempt" not in log
    [source] = stored(cluster, path)
    assert "/objects/" in source.path
    # ... where a reconciler with Swift's pipeline moves it
    log = reconcile(cluster, queue=False)
    assert "'copy_success': 1" in log, log[-3000:]
    assert_reads_back(conn, cont, body, meta)


def test_container_reconciler_with_other_keys_than_the_proxies_makes_objects_unreadable(
        daemons, policies, connect_as, plaintexts):
    cluster = daemons
    conn = connect_as()
    body = plaintexts.body(make_body("reconciler-other-key", 70000))
    meta = plaintexts.meta("reconciler-other-key-meta-plaintext")
    cont, path = misplace(cluster, conn, body, dict(MISPLACED_HEADERS, **{
        "X-Object-Meta-Tag": meta}))

    # the reconciler's keymaster one step ahead of the proxies (a new
    # active secret, as in a rotation rolled out to it first): it reports
    # success and removes the source, and what it wrote is under a secret
    # the proxies do not have
    crypto = swiftcrypt_crypto(secrets={None: ROOT_SECRET, "reconciler": os.urandom(32)},
                               active="reconciler")
    log = reconcile(cluster, crypto)
    assert "'copy_success': 1" in log and "'cleanup_success': 1" in log, log[-3000:]
    after = stored(cluster, path)
    assert after and all("/objects-%d/" % EC_POLICY_INDEX in s.path for s in after)
    for item in after:
        key_id = item.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")["key_id"]
        assert key_id == {"path": path, "secret_id": "reconciler", "v": "2"}
    with pytest.raises(ClientException) as err:
        conn.get_object(cont, "obj")
    assert err.value.http_status == 500
    assert listed(conn, cont)["obj"]["hash"] == "<unknown>"


def test_a_daemon_that_cannot_start_fails_the_test(daemons):
    """run_daemon raises (the test fails, never passes quietly) when the
    daemon exits non-zero: here container-sync with an internal client
    config that is not there, which stops it at start-up."""
    missing = os.path.join(daemons.etc, "no-such-client.conf")
    with pytest.raises(ClusterError) as err:
        sync_run(daemons, missing)
    assert "Unable to load internal client" in str(err.value)
    assert missing in str(err.value)
