"""Faults on the multi-node cluster with swiftcrypt's filters on both
proxies, in order: a proxy SIGKILLed mid-PUT, a storage node SIGKILLed
during writes and restarted, a device failed (unmounted) and replaced."""

import os
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.multinode import swap
from tests.integration.multinode.load import Load, plaintext_at_rest
from tests.integration.swift import at_rest
from tests.integration.swift_cluster import HOST, Crypto, SwiftCluster

SECRET = os.urandom(32)
SETTLE = 120  # seconds the replicators get to put every replica back


@pytest.fixture(scope="module")
def cluster():
    cluster = SwiftCluster(nodes=3, proxies=2)
    try:
        cluster.start(Crypto("swiftcrypt", "swiftcrypt", {None: SECRET}))
        yield cluster
    finally:
        cluster.stop()


def request(cluster, proxy, method, path, token, body=b"", headers=None):
    import http.client

    conn = http.client.HTTPConnection(HOST, cluster.ports[proxy], timeout=60)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}, **{
            "X-Auth-Token": token}))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def names_on(paths):
    """Object names of the .data files among ``paths``; a file the daemons
    remove while we look (a handoff reverted, an older one replaced) is
    skipped."""
    names = set()
    for path in paths:
        if path.endswith(".data"):
            try:
                name = at_rest.Stored(path).name
                try:  # a WSGI string (UTF-8 read as latin-1) back to text
                    name = name.encode("latin-1").decode("utf-8")
                except UnicodeError:
                    pass
                names.add(name)
            except (OSError, EOFError):
                if os.path.exists(path):
                    raise
    return names


def stored_copies(cluster):
    """{(device, object name, fragment index or None)} of every .data."""
    found = set()
    for path in cluster.object_data_files():
        device = os.path.relpath(path, cluster.devices).split(os.sep)[1]
        frag = os.path.basename(path).split("#")
        names = names_on([path])
        if names:
            found.add((device, names.pop(), int(frag[1].split(".")[0]) if len(frag) > 1 else None))
    return found


def unsettled(cluster, load, objects=None, device=None):
    """Names of ``objects`` (default the load's live ones) not yet on every
    primary device the rings give them (with its own fragment index, for
    EC), or only those whose primaries include ``device``."""
    from swift.common.ring import Ring

    from tests.integration.swift_cluster import use_swift_conf

    restore = use_swift_conf(cluster.swift_conf)
    try:
        rings = {False: Ring(cluster.etc, ring_name="object"),
                 True: Ring(cluster.etc, ring_name="object-1")}
        have = stored_copies(cluster)
        missing = set()
        account = load.paths["proxy"].rsplit("/", 1)[1]
        for obj in load.objects() if objects is None else objects:
            _part, nodes = rings[obj.ec].get_nodes(account, obj.container, obj.name)
            name = wsgi_name(load, obj)
            for node in nodes:
                if device is not None and node["device"] != device:
                    continue
                if (node["device"], name, node["index"] if obj.ec else None) not in have:
                    missing.add(name)
        return missing
    finally:
        restore()


def wsgi_name(load, obj):
    account = load.paths["proxy"].rsplit("/", 1)[1]
    return "/%s/%s/%s" % (account, obj.container, obj.name)


def wait_for(condition, what, timeout=SETTLE):
    deadline = time.monotonic() + timeout
    while True:
        missing = condition()
        if not missing:
            return time.monotonic() - (deadline - timeout)
        assert time.monotonic() < deadline, "%s after %ds: %d missing, e.g. %s" % (
            what, timeout, len(missing), sorted(missing)[:5])
        time.sleep(2)


def test_proxy_killed_mid_put_shows_no_partial_object(cluster):
    url, token = cluster.auth()
    account = urlsplit(url).path
    container = account + "/killed-mid-put"
    assert request(cluster, "proxy2", "PUT", container, token)[0] == 201
    old = os.urandom(300000)
    assert request(cluster, "proxy2", "PUT", container + "/over", token, old)[0] == 201
    socks = []
    for name in ("fresh", "over"):  # a new object, and a new version of one
        sock = socket.create_connection((HOST, cluster.ports["proxy"]))
        sock.sendall(("PUT %s/%s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
                      "Content-Length: %d\r\n\r\n" % (container, name, HOST, token, 4 << 20)
                      ).encode())
        sock.sendall(os.urandom(1 << 20))
        socks.append(sock)
    time.sleep(1)  # the proxy has sent the first MiB to the object servers
    cluster.kill_proxy("proxy")
    for sock in socks:
        sock.close()
    time.sleep(1)
    assert request(cluster, "proxy2", "GET", container + "/fresh", token)[0] == 404
    assert request(cluster, "proxy2", "GET", container + "/over", token) == (200, old)
    status, listing = request(cluster, "proxy2", "GET", container, token)
    assert status == 200 and listing.split() == [b"over"]
    assert not [n for n in names_on(cluster.object_data_files()) if n.endswith("/fresh")]
    # the killed proxy comes back with the same pipeline and sees the same
    cluster.restart_proxy(proxy="proxy")
    assert request(cluster, "proxy", "GET", container + "/fresh", token)[0] == 404
    assert request(cluster, "proxy", "GET", container + "/over", token) == (200, old)


@pytest.fixture(scope="module")
def node_killed(cluster):
    """8 clients for ~12 s: node 3 is SIGKILLed 3 s in, restarted 6 s later."""
    load = Load(cluster, clients=8).start()
    try:
        load.set_phase("all nodes up")
        time.sleep(3)
        load.set_phase("node 3 killed")
        cluster.kill_node(3)
        time.sleep(6)
        load.set_phase("node 3 restarting")
        cluster.start_node(3)
        load.set_phase("node 3 back")
        time.sleep(3)
    finally:
        load.stop()
    return load


def ec_quorum_lost(failure, killed_at):
    """A 503 Swift owes the client by design: an erasure-coded PUT (2+1:
    its quorum is 3, every fragment) in flight when a fragment's node died
    cannot complete (a fragment stream cannot move to a handoff midway)."""
    return (failure.op == "put" and failure.status == 503 and failure.client % 4 == 3
            and killed_at <= failure.when <= killed_at + 2)


def test_node_killed_during_writes_no_client_error(node_killed):
    failures = swap.report(node_killed, "storage node 3 SIGKILLed and restarted")["failures"]
    killed_at = dict((p, t) for t, p in node_killed.phases)["node 3 killed"]
    by_design = [f for f in failures if ec_quorum_lost(f, killed_at)]
    print("503s by Swift's EC quorum (PUTs in flight at the kill): %d" % len(by_design))
    failures = [f for f in failures if f not in by_design]
    assert not failures, "\n".join(map(repr, failures[:40]))
    assert [o for o in node_killed.objects() if o.phase == "node 3 killed"]


def test_node_killed_replication_restores_every_object(cluster, node_killed):
    took = wait_for(lambda: unsettled(cluster, node_killed),
                    "every replica (EC: every fragment) on its primary device")
    print("\nevery object had all its replicas or fragments again %.0f s after the load"
          % took)
    for proxy in cluster.proxy_names:
        failures = node_killed.verify(proxy)
        assert not failures, "\n".join(map(repr, failures[:40]))
    assert not plaintext_at_rest(cluster, node_killed.objects())
