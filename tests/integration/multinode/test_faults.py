"""Faults on the multi-node cluster with swiftcrypt's filters on both
proxies, in order: a proxy SIGKILLed mid-PUT, the expirers at work, a
storage node SIGKILLed during writes and restarted, a device failed
(unmounted) and replaced, a storage node SIGKILLed during a re-key."""

import glob
import json
import os
import re
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.multinode import swap
from tests.integration.multinode.load import Client, Load, Obj, plaintext_at_rest
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
                names.add(stored_name(path))
            except (OSError, EOFError):
                if os.path.exists(path):
                    raise
    return names


def stored_name(path):
    """The object name an object server file holds, as text."""
    name = at_rest.Stored(path).name
    try:  # a WSGI string (UTF-8 read as latin-1) back to text
        return name.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return name


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


def test_expirers_delete_expired_encrypted_objects_from_every_node(cluster):
    """The object expirers the nodes run (one share of the queue each,
    through an internal client with no crypto) delete an expired encrypted
    object of each policy: no .data left on any device, and its listing
    row gone, while an object without X-Delete-After stays."""
    url, token = cluster.auth()
    account = urlsplit(url).path
    account_name = account.rsplit("/", 1)[1]
    names = set()
    for container, headers in (("expiring", {}), ("expiring-ec", {"X-Storage-Policy": "ec"})):
        assert request(cluster, "proxy", "PUT", "%s/%s" % (account, container), token,
                       headers=headers)[0] in (201, 202)
        for name, extra in (("gone", {"X-Delete-After": "2"}), ("kept", {})):
            status, _ = request(cluster, "proxy2", "PUT", "%s/%s/%s" % (account, container, name),
                                token, os.urandom(100000), dict(extra, **{
                                    "X-Object-Meta-Color": "expiring-plaintext"}))
            assert status == 201, status
        names.add("/%s/%s/gone" % (account_name, container))
    kept = {"/%s/%s/kept" % (account_name, c) for c in ("expiring", "expiring-ec")}
    assert names | kept <= names_on(cluster.object_data_files())

    def left():
        listed = set()
        for container in ("expiring", "expiring-ec"):
            status, body = request(cluster, "proxy", "GET", "%s/%s" % (account, container),
                                   token)
            assert status == 200, status
            listed |= {"/%s/%s/%s" % (account_name, container, line)
                       for line in body.decode().split()}
        return (names_on(cluster.object_data_files()) | listed) & names
    took = wait_for(left, "the expirers deleting expired objects", timeout=SETTLE)
    print("\nexpired objects deleted on every node %.0f s after writing" % took)
    assert kept <= names_on(cluster.object_data_files())


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
    cannot complete (a fragment stream cannot move to a handoff midway).
    A COPY is such a PUT too (of its destination: one run's 503 COPY was
    logged by the proxy as "Trying to get commit status of PUT ...
    RemoteDisconnected" from node 3 at the kill)."""
    return (failure.op in ("put", "copy") and failure.status == 503
            and failure.client % 4 == 3
            and killed_at <= failure.when <= killed_at + 2)


def test_node_killed_during_writes_no_client_error(node_killed):
    failures = swap.report(node_killed, "storage node 3 SIGKILLed and restarted")["failures"]
    killed_at = dict((p, t) for t, p in node_killed.phases)["node 3 killed"]
    by_design = [f for f in failures if ec_quorum_lost(f, killed_at)]
    print("503s by Swift's EC quorum (PUTs and COPYs in flight at the kill): %d"
          % len(by_design))
    failures = [f for f in failures if f not in by_design]
    assert not failures, "\n".join(map(repr, failures[:40]))
    assert [o for o in node_killed.objects() if o.phase == "node 3 killed"]


def test_node_killed_replication_restores_every_object(cluster, node_killed):
    took = wait_for(lambda: unsettled(cluster, node_killed),
                    "every replica (EC: every fragment) on its primary device")
    print("\nevery object had all its replicas or fragments again %.0f s after the load"
          % took)
    # through one proxy here (the clients wrote through both); the rekey
    # test below reads them all again through the other, once re-keyed
    failures = node_killed.verify("proxy")
    assert not failures, "\n".join(map(repr, failures[:40]))
    assert not plaintext_at_rest(cluster, node_killed.objects())


# ------------------------------------------------- a device failed, replaced
FAILED = (2, "d2")  # node 2's first device: not on node 3, which the tests before killed
# a proxy's log line for a device it now skips (Swift's error limiting)
# (a transaction id ends in the hex time it began)
LIMITED = re.compile(r"Node will be error limited for [0-9.]+s: [0-9.]+:(\d+)/(\S+?)"
                     r"(?:, error: ([^(]*?))? \(txn: tx\w+-([0-9a-f]+)\)")


def log_size(cluster, name):
    return os.path.getsize(os.path.join(cluster.logs, "%s.log" % name))


def error_limited(cluster, proxy, since=0, until=None):
    """{(server name, device): (cause or None, time)} of every device
    ``proxy`` logged it error-limits (from offset ``since`` to ``until`` of
    its log; the last time for each):
    for 507 (an unmounted device) at once, for other errors after more
    than ``error_suppression_limit`` (10), each time for
    ``error_suppression_interval`` (60 s) after the device's last error."""
    servers = {port: name for name, port in cluster.ports.items()}
    with open(os.path.join(cluster.logs, "%s.log" % proxy), "rb") as fh:
        fh.seek(since)
        text = fh.read(None if until is None else until - since).decode("utf-8", "replace")
    return {(servers[int(port)], device): (cause, int(when, 16)) for port, device, cause, when
            in LIMITED.findall(text)}


def primaries(cluster, load, objects):
    """{obj.path: [(object server name, device)]} of the primary nodes the
    rings give each of ``objects`` (EC: in fragment index order)."""
    from swift.common.ring import Ring

    from tests.integration.swift_cluster import use_swift_conf

    servers = {port: name for name, port in cluster.ports.items()}
    restore = use_swift_conf(cluster.swift_conf)
    try:
        rings = {False: Ring(cluster.etc, ring_name="object"),
                 True: Ring(cluster.etc, ring_name="object-1")}
        account = load.paths["proxy"].rsplit("/", 1)[1]
        return {obj.path: [(servers[n["port"]], n["device"]) for n in
                           rings[obj.ec].get_nodes(account, obj.container, obj.name)[1]]
                for obj in objects}
    finally:
        restore()


def read_objects(cluster, load, proxy, objects, readers=4):
    """(obj, status, what is wrong or None) of a GET of each of ``objects``
    through ``proxy`` (body by SHA-256, metadata, ETag: Client.check_object),
    ``readers`` at a time."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def read(obj):
        conn = http.client.HTTPConnection(HOST, cluster.ports[proxy], timeout=60)
        try:
            conn.request("GET", "%s/%s" % (load.paths[proxy], obj.path),
                         headers={"X-Auth-Token": load.token})
            resp = conn.getresponse()
            body = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        return obj, resp.status, (Client.check_object(obj, headers, body)
                                  if resp.status == 200 else "status %d" % resp.status)
    with ThreadPoolExecutor(readers) as pool:
        return list(pool.map(read, objects))


def test_failed_device_reads_and_writes_go_on_and_its_replacement_is_filled(
        cluster, node_killed):
    """Issue 12's failed device: node 2's d2 unmounted (its object,
    container and account servers run with mount_check, so Swift sees it
    unmounted and answers 507). Every object it held reads back through
    both proxies and a short load's writes succeed (to handoffs); a new, empty
    tmpfs in its place is filled by the replicator and reconstructor with
    every replica and fragment the rings put there, and no file on any
    device (the new disk, the handoffs) holds plaintext.

    Each proxy still skips node 3's devices for 60 s after the node-kill
    test's errors (Swift's error limiting, not encryption): reads made in
    that window find an erasure-coded (2+1) object with fragments on d2
    and node 3 one reachable fragment, fewer than the 2 it needs, and
    answer 503 until the reconstructor has rebuilt d2's fragment on a
    handoff. The first reads check that every failure is exactly that;
    a reload of each proxy then forgets the errors and the scenario
    proper starts (doc/deployment.md, "Storage node and device failures")."""
    node, device = FAILED
    server = "object%d" % node
    started = time.monotonic()
    assert not unsettled(cluster, node_killed), "replication had not settled"
    placed = primaries(cluster, node_killed, node_killed.objects())
    held = [o for o in node_killed.objects() if (server, device) in placed[o.path]]
    assert {o.ec for o in held} == {True, False}, "no replicated or no EC object on d2"
    # the load's containers exist before the failure: a container PUT while
    # d2 is out makes a database on a handoff that only rsync (which this
    # cluster does not run) could ship to the replaced disk, so the handoff
    # would keep it, with listing rows the rekey test below would find
    # (no 16 MiB objects: every byte written is scanned for plaintext below)
    load = Load(cluster, clients=8, big=False).prepare()
    account = load.paths["proxy"]
    for container, headers in (("on-d2", {}), ("on-d2-ec", {"X-Storage-Policy": "ec"})):
        assert request(cluster, "proxy", "PUT", "%s/%s" % (account, container), load.token,
                       headers=headers)[0] == 201
    for client in load.clients:  # kept alive, they would go stale at the reloads below
        for conn in client.conns.values():
            conn.close()
        client.conns.clear()
    marks = {p: log_size(cluster, p) for p in cluster.proxy_names}
    path = cluster.device_path(node, device)
    # (the test before found no plaintext in these; the daemons only copy them)
    checked = {p for p in cluster.object_meta_files() if not p.startswith(path + os.sep)}
    cluster.fail_device(node, device)
    # what the rings put on d2 is out of sight (mount_check: 507)
    assert unsettled(cluster, node_killed, device=device) == {
        wsgi_name(node_killed, o) for o in held}

    # the reads right after the failure, with the proxies as the node-kill
    # test left them
    steps = [("failed", time.monotonic())]
    double_faults = []
    for proxy in cluster.proxy_names:
        limited_before = error_limited(cluster, proxy, until=marks[proxy])
        print("\n%s had error-limited %s" % (proxy, ", ".join(
            "%s/%s %.0f s before" % (s, d, time.time() - t)
            for (s, d), (_c, t) in sorted(limited_before.items()))))
        # (what d2 held: the other objects' reads never meet it)
        for obj, status, problem in read_objects(cluster, node_killed, proxy, held):
            if status == 200:
                assert not problem, (proxy, obj.path, problem)
                continue
            others = [d for d in placed[obj.path] if d != (server, device)]
            assert status == 503 and obj.ec and [d for d in others if d in limited_before], (
                "not a double fault (d2 failed, another fragment's device error-limited "
                "by %s: %s): %s %s" % (proxy, sorted(limited_before), obj.path, status))
            double_faults.append((proxy, obj.path))
    print("reads of EC objects with fragments on d2 and on a device the proxy "
          "error-limited since the node-kill test: %d answered 503 %s"
          % (len(double_faults), double_faults))

    steps.append(("read", time.monotonic()))
    # the scenario proper: proxies that remember no earlier error
    for proxy in cluster.proxy_names:
        cluster.reload_proxy(cluster.crypto_of(proxy), proxy)
    marks = {p: log_size(cluster, p) for p in cluster.proxy_names}
    for proxy in cluster.proxy_names:  # (the other objects' reads never meet d2)
        assert [(o.path, problem) for o, _s, problem in read_objects(
            cluster, node_killed, proxy, held) if problem] == [], proxy
    steps.append(("reloaded, read again", time.monotonic()))
    load.start()
    try:
        load.set_phase("d2 failed")
        time.sleep(5)
    finally:
        load.stop()
    failures = swap.report(load, "device d2 unmounted")["failures"]
    assert not failures, "\n".join(map(repr, failures[:40]))
    # and through each proxy, writes of each policy the rings meant for d2
    # (to handoffs), whatever the load happened to write
    meant = []
    for proxy in cluster.proxy_names:
        for container in ("on-d2", "on-d2-ec"):
            for number in range(100):
                body = os.urandom(3000 + number)
                obj = Obj(container, "%s-%d" % (proxy, number), body, "colour-%d" % number)
                obj.ec = container.endswith("-ec")
                if (server, device) in primaries(cluster, load, [obj])[obj.path]:
                    break
            else:
                raise AssertionError("no name of 100 the rings put on d2")
            status, _ = request(cluster, proxy, "PUT", "%s/%s" % (account, obj.path),
                                load.token, body, {"X-Object-Meta-Color": obj.color})
            assert status == 201, (proxy, obj.path, status)
            meant.append(obj)
    written = primaries(cluster, load, load.objects())
    meant += [o for o in load.objects() if (server, device) in written[o.path]]
    # what Swift made of it: d2, and d2 only, skipped for its 507s
    for proxy in cluster.proxy_names:
        limited = error_limited(cluster, proxy, since=marks[proxy])
        assert (server, device) in limited, (proxy, limited)
        assert {d for _s, d in limited} == {device}, (proxy, limited)
        assert {c for c, _t in limited.values()} == {"ERROR Insufficient Storage"}, (
            proxy, limited)

    steps.append(("load", time.monotonic()))
    cluster.replace_device(node, device)  # a new, empty disk in its place
    # (not "empty now": the daemons may have begun writing to it already)
    assert os.path.ismount(path)
    every = node_killed.objects() + load.objects() + meant[:4]
    took = wait_for(lambda: unsettled(cluster, node_killed, every, device=device),
                    "every replica and fragment back on the replaced device")
    steps.append(("refilled", time.monotonic()))
    restored = [p for p in cluster.object_meta_files() if p.startswith(path + os.sep)]
    assert names_on(restored) >= {wsgi_name(node_killed, o) for o in held + meant}
    # every file since the failure: the new disk's, the handoffs', the writes'
    assert not plaintext_at_rest(cluster, every, [
        p for p in cluster.object_meta_files() if p not in checked])
    # (node_killed's objects are read again by the rekey test below)
    failures = load.verify("proxy")
    assert not failures, "\n".join(map(repr, failures[:40]))
    assert [(o.path, problem) for o, _s, problem in read_objects(
        cluster, load, "proxy2", meant[:4]) if problem] == []
    steps.append(("checked", time.monotonic()))
    print("d2 refilled %.0f s after its replacement (%d files); the test took %.0f s (%s)"
          % (took, len(restored), time.monotonic() - started, ", ".join(
              "%s %.1f s" % (name, when - before) for (_n, before), (name, when)
              in zip([("start", started)] + steps, steps))))


# ------------------------------------------------- a node killed during rekey
NEW = os.urandom(32)  # the new root secret, id "new"; SECRET (id None) is retired
ROTATED = {None: SECRET, "new": NEW}


def rekey_cli(cluster, *args):
    """``swiftcrypt rekey ARGS`` (or ``keys usage``) as an operator runs
    it on a proxy node: a process of its own, through the tool's pipeline."""
    import subprocess

    return subprocess.Popen(cluster.python_argv("swiftcrypt.cli", *args), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(cluster.env, PYTHONUNBUFFERED="1"))


def run_cli(cluster, *args, timeout=300):
    proc = rekey_cli(cluster, *args)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def stored_secret_ids(path):
    """Secret ids of the encrypted parts of one .data or .meta file, read
    raw (xattrs), and whether it is durable (an EC fragment archive
    without its ``#d`` was never committed and is no object)."""
    from swiftcrypt.rekey import plan

    meta = at_rest.metadata(path)
    durable = not path.endswith(".data") or "#" not in os.path.basename(path) \
        or os.path.basename(path).endswith("#d.data")
    return set(plan.secret_ids(meta).values()), durable


def old_secret_files(cluster, node=None, durable_only=True):
    """{path: object name} of every durable .data/.meta with a part under
    the retired secret (id None), on every node (or ``node``'s devices);
    not ``durable_only``: the EC fragments never committed too."""
    found = {}
    for path in cluster.object_meta_files():
        if path.endswith(".ts") or (node is not None and not path.startswith(
                cluster.node_devices(node) + os.sep)):
            continue
        try:
            ids, durable = stored_secret_ids(path)
            name = stored_name(path)
        except (OSError, EOFError):  # replaced by a daemon while we looked
            if os.path.exists(path):
                raise
            continue
        if None in ids and (durable or not durable_only):
            found[path] = name
    return found


def old_secret_rows(cluster):
    """(db, object name) of every live container row whose listing etag is
    under the retired secret, on every replica of every container DB."""
    import sqlite3

    from swiftcrypt.crypto import keyids, listing_etag

    found = []
    for db in glob.glob(os.path.join(cluster.devices, "node*", "*", "containers", "**",
                                     "*.db"), recursive=True):
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
            try:
                rows = conn.execute("SELECT name, etag FROM object WHERE deleted = 0").fetchall()
            finally:
                conn.close()
        except sqlite3.Error:  # a DB being replaced by the replicator
            if os.path.exists(db):
                raise
            continue
        for name, etag in rows:
            if listing_etag.is_encrypted(etag):
                key_id = listing_etag.stored_meta(etag).get("key_id")
                if key_id is not None and keyids.parse_key_id(key_id)[0] is None:
                    found.append((db, name))
    return found


def populate_for_rekey(cluster, token, account):
    """A few objects of each kind under the retired secret: replicated
    (0 bytes to a few KiB, user metadata, one POSTed), erasure coded (one
    of three segments), an SLO over two segments; {path: Obj}."""
    written = {}
    for container, headers in (("rk-rep", {}), ("rk-ec", {"X-Storage-Policy": "ec"}),
                               ("rk-segs", {})):
        status, _ = request(cluster, "proxy", "PUT", "%s/%s" % (account, container), token,
                            headers=headers)
        assert status in (201, 202), status
    sizes = [("rk-rep", 0), ("rk-ec", 0), ("rk-ec", 3 * 65536 - 100)] + \
        [("rk-rep", 37 * i) for i in range(1, 15)] + [("rk-ec", 5000 + i) for i in range(5)]
    for number, (container, size) in enumerate(sizes):
        body = os.urandom(size)
        obj = Obj(container, "obj-%02d" % number, body, "colour-%d" % number)
        obj.ec = container == "rk-ec"
        proxy = cluster.proxy_names[number % 2]
        status, _ = request(cluster, proxy, "PUT", "%s/%s" % (account, obj.path), token, body,
                            {"X-Object-Meta-Color": obj.color})
        assert status == 201, (obj.path, status)
        written[obj.path] = obj
    posted = written["rk-rep/obj-03"]
    posted.color = "posted"  # its user metadata then sits in a .meta
    status, _ = request(cluster, "proxy2", "POST", "%s/%s" % (account, posted.path), token,
                        headers={"X-Object-Meta-Color": posted.color})
    assert status == 202, status
    manifest, parts = [], []
    for number in range(2):
        body = os.urandom(70000 + number)
        seg = Obj("rk-segs", "seg-%d" % number, body, "")
        seg.ec = False
        assert request(cluster, "proxy", "PUT", "%s/%s" % (account, seg.path), token,
                       body)[0] == 201
        manifest.append({"path": "/" + seg.path, "etag": seg.md5, "size_bytes": seg.size})
        parts.append(body)
    slo = Obj("rk-rep", "slo", b"".join(parts), "slo-colour", slo=True)
    slo.ec = False
    status, _ = request(cluster, "proxy2", "PUT",
                        "%s/%s?multipart-manifest=put" % (account, slo.path), token,
                        json.dumps(manifest).encode(), {"X-Object-Meta-Color": slo.color})
    assert status == 201, status
    written[slo.path] = slo
    return written


def read_back(cluster, token, account, objects, proxies):
    """(proxy, path, problem) for each object not read back whole (SHA-256)
    with its metadata through each of ``proxies``."""
    import http.client

    bad = []
    for proxy in proxies:
        for obj in objects:
            conn = http.client.HTTPConnection(HOST, cluster.ports[proxy], timeout=60)
            try:
                conn.request("GET", "%s/%s" % (account, obj.path),
                             headers={"X-Auth-Token": token})
                resp = conn.getresponse()
                body = resp.read()
                headers = {k.lower(): v for k, v in resp.getheaders()}
            finally:
                conn.close()
            problem = "status %d" % resp.status if resp.status != 200 else \
                Client.check_object(obj, headers, body)
            if problem:
                bad.append((proxy, obj.path, problem))
    return bad


def test_node_killed_during_rekey_nothing_left_under_the_old_secret(
        cluster, node_killed, tmp_path):
    """The operator's rotation (doc/deployment.md section 8) with storage
    node 3 SIGKILLed while ``swiftcrypt rekey`` runs and restarted after
    it: the rewrites made meanwhile went to the two live nodes (and
    handoffs), node 3 keeps an old-secret replica or fragment of each, and
    replication must replace every one by the newer copy. Afterwards the
    operator's checks say the old secret is unused, no file or listing row
    on any device is under it, and with it gone from both proxies every
    object reads back. Runs last: the old secret is then gone from the
    module's proxies."""
    from tests.integration.swift.test_rekey import rekey_conf

    url, token = cluster.auth()
    account = urlsplit(url).path
    account_name = account.rsplit("/", 1)[1]
    mine = populate_for_rekey(cluster, token, account)
    # rotation: the new secret known, then active, on both proxies (no
    # client writes meanwhile, so one reload each)
    for proxy in cluster.proxy_names:
        cluster.reload_proxy(Crypto("swiftcrypt", "swiftcrypt", ROTATED, active="new"), proxy)
    conf = rekey_conf(cluster, tmp_path / "rekey.conf", ROTATED, active="new")
    before = old_secret_files(cluster)
    assert set(before.values()) >= {wsgi_name(node_killed, o) for o in mine.values()}

    started = time.monotonic()
    proc = rekey_cli(cluster, "rekey", "--config", conf, "--account", account_name,
                     "--concurrency", "8", "--verbose")
    lines, killed_at = [], None
    for line in proc.stdout:  # node 3 dies once a few objects are re-keyed
        lines.append(line)
        if sum(ln.startswith("re-keyed ") for ln in lines) == 5:
            cluster.kill_node(3)
            killed_at = time.monotonic()
            break
    out, err = proc.communicate(timeout=300)
    lines += out.splitlines(True)
    assert killed_at is not None, "rekey ended before 5 objects were re-keyed:\n" + err
    rekey_took = time.monotonic() - started
    print("\nfirst run (node 3 killed after 5 re-keyed, %.1f s in): %.1f s, exit %s\n%s"
          % (killed_at - started, rekey_took, proc.returncode,
             "".join(ln for ln in lines if ln.startswith("account ")) + err))
    after_kill = len([ln for ln in lines if ln.startswith("re-keyed ")]) - 5
    print("re-keyed with node 3 down: %d" % after_kill)
    assert after_kill > 0, "rekey ended at the kill"
    # an object whose rewrite failed at the kill (an EC PUT in flight needs
    # every fragment) is named on stderr; the procedure runs rekey again
    failed = [ln.split(" ", 2)[2].rsplit(" (", 1)[0] for ln in err.splitlines()
              if ln.startswith("error: failed ")]
    assert proc.returncode == (1 if failed else 0), err

    # node 3 still holds old-secret copies of what was rewritten meanwhile
    stale = old_secret_files(cluster, node=3)
    print("old-secret .data/.meta on node 3 while down: %d" % len(stale))
    # (every object has a copy on node 3; those in flight at the kill, at
    # most --concurrency, may have reached it before it died)
    assert len(set(stale.values())) >= after_kill - 8 > 0
    cluster.start_node(3)

    # replication settles: every replica and fragment on its primary, and
    # none under the old secret on any device (but the failed rewrites')
    objects = node_killed.objects() + list(mine.values())
    failed_names = {"/%s/%s" % (account_name, f) for f in failed}

    def unsettled_rekey():
        return unsettled(cluster, node_killed, objects) | (
            set(old_secret_files(cluster).values()) - failed_names) | {
            name for _db, name in old_secret_rows(cluster)}
    took = wait_for(unsettled_rekey, "replication replacing old-secret copies", timeout=SETTLE)
    print("replication replaced them %.0f s after node 3 restarted" % took)

    # the procedure: run it again until it has nothing left to do (what
    # failed at the kill; replication took care of the rest)
    if failed:
        status, out, err = run_cli(cluster, "rekey", "--config", conf, "--account",
                                   account_name, "--concurrency", "8")
        assert status == 0, err
        assert "re-keyed %d, conflicts 0, failures 0" % len(failed) in out, out
    status, out, err = run_cli(cluster, "rekey", "--config", conf, "--account", account_name,
                               "--dry-run", "--concurrency", "8")
    assert status == 0 and "would re-key 0, conflicts 0, failures 0" in out, out + err
    status, out, err = run_cli(cluster, "keys", "usage", "--config", conf, "--account",
                               account_name, "--json", str(tmp_path / "usage.json"))
    assert status == 0, err
    assert json.loads((tmp_path / "usage.json").read_text())["unused"] == ["(default)"], out
    # the real claim, at rest: no replica, fragment or listing row is under
    # the old secret on any device of any node
    assert not old_secret_files(cluster)
    assert not old_secret_rows(cluster)
    print("EC fragments never committed (PUTs failed at a kill; no object) under the old "
          "secret: %d" % len(old_secret_files(cluster, durable_only=False)))
    print("checked %.0f s in" % (time.monotonic() - started))

    # the old secret leaves both proxies; everything still reads
    for proxy in cluster.proxy_names:
        cluster.reload_proxy(Crypto("swiftcrypt", "swiftcrypt", {"new": NEW}, active="new"),
                             proxy)
    assert not read_back(cluster, token, account, mine.values(), cluster.proxy_names)
    failures = node_killed.verify("proxy2")
    assert not failures, "\n".join(map(repr, failures[:40]))
    print("read back without the old secret %.0f s in" % (time.monotonic() - started))
