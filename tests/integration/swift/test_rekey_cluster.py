"""``swiftcrypt rekey`` at cluster scale on the real Swift cluster: several
accounts with objects of every kind (plain, metadata, empty, SLO manifests
and segments, DLO, symlinks, versioned objects, erasure-coded objects),
account and container listings, re-keyed by two processes splitting the
work (--processes 2) at --concurrency 16, one killed mid-way and resumed
from its --state file, while a client writes racing them. Afterwards no
object is under the old secret (read raw), a second pass finds nothing,
and Swift's own encryption holding only the new secret reads everything
as the client last wrote it. Bad input is refused with one line and exit
status 2, nothing written.

The cluster is the test's own (a fresh one-node Swift), so that
--all-accounts, which walks the account DBs on the node's devices as
Swift's account reaper does, finds exactly the test's accounts: the two
processes (--processes 2, --process 0 and 1) and the inventory run with
--all-accounts end to end.

Scale: SWIFTCRYPT_REKEY_ACCOUNTS (default 3) and
SWIFTCRYPT_REKEY_OBJECTS (default 90 plain ones, spread over the
accounts, besides each account's SLO, DLO, symlink, versions and EC
objects); the issue's 50 accounts and 10000 objects run the same code.
"""

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from swiftcrypt.rekey import plan as rekey

from swiftcrypt.rekey import accounts as rekeyaccounts

from swiftcrypt.rekey import run as rekeyrun
from swiftcrypt.cli.rekey import load_pipeline
from swiftcrypt.common.wsgiclient import call
from tests.integration.swift.conftest import make_body
from tests.integration.swift.test_rekey import (
    SECRETS, admin_conn, md5, rekey_conf, swiftcrypt_with)
from tests.integration.swift_cluster import EC_POLICY_NAME, Crypto, SwiftCluster, use_swift_conf

ACCOUNTS = int(os.environ.get("SWIFTCRYPT_REKEY_ACCOUNTS", "3"))
OBJECTS = int(os.environ.get("SWIFTCRYPT_REKEY_OBJECTS", "90"))
OVERRIDE = {"swift.crypto.override": True}
# a ceiling per command, not a measurement: grows with the scale asked for
TIMEOUT = 600 * max(1, OBJECTS // 1000)


@pytest.fixture
def accounts():
    run = uuid.uuid4().hex[:8]
    return ["AUTH_rkc%s%03d" % (run, i) for i in range(ACCOUNTS)]


@pytest.fixture(scope="module")
def policies():
    """A Swift cluster of this module's own (its account DBs hold only this
    test's accounts), whose storage policies this process's Swift code
    sees."""
    cluster = SwiftCluster()
    try:
        cluster.start(swiftcrypt_with(["A"], "A"))
        restore = use_swift_conf(cluster.swift_conf)
        try:
            yield cluster
        finally:
            restore()
    finally:
        cluster.stop()


def populate(conn, account, plain_count):
    """Objects of every kind under the active secret; returns
    ``{(container, name): body read back}``."""
    bodies = {}
    conn.put_container("plain")
    conn.put_container("segs")
    conn.put_container("ec", headers={"X-Storage-Policy": EC_POLICY_NAME})
    conn.put_container("vers", headers={"X-Versions-Enabled": "true"})
    for i in range(plain_count):
        body = make_body("rkc-%s-%d" % (account, i), 100 + 37 * (i % 50)) if i % 5 else b""
        headers = {"X-Object-Meta-N": str(i)} if i % 3 == 0 else {}
        conn.put_object("plain", "o%04d" % i, body, headers=headers)
        bodies[("plain", "o%04d" % i)] = body
    segs = [make_body("rkc-seg-%s-%d" % (account, i), 2000 + i) for i in range(2)]
    for i, seg in enumerate(segs):
        conn.put_object("segs", "slo/%d" % i, seg)
        conn.put_object("segs", "dlo/%d" % i, seg)
        bodies[("segs", "slo/%d" % i)] = bodies[("segs", "dlo/%d" % i)] = seg
    manifest = [{"path": "/segs/slo/%d" % i, "etag": md5(s), "size_bytes": len(s)}
                for i, s in enumerate(segs)]
    conn.put_object("plain", "slo", json.dumps(manifest), query_string="multipart-manifest=put")
    conn.put_object("plain", "dlo", b"", headers={"X-Object-Manifest": "segs/dlo/"})
    conn.put_object("plain", "link", b"", headers={"X-Symlink-Target": "plain/o0001"})
    bodies[("plain", "slo")] = bodies[("plain", "dlo")] = b"".join(segs)
    bodies[("plain", "link")] = bodies[("plain", "o0001")]
    for version in ("first", "second"):
        conn.put_object("vers", "doc", b"version " + version.encode())
    bodies[("vers", "doc")] = b"version second"
    ec_body = make_body("rkc-ec-" + account, 70000)  # over one EC segment
    conn.put_object("ec", "big", ec_body, headers={"X-Object-Meta-Kind": "ec"})
    bodies[("ec", "big")] = ec_body
    return bodies


def versions(conn):
    return [(e["version_id"], e["hash"])
            for e in conn.get_container("vers", query_string="versions")[1]]


def secrets_in_use(app, accounts):
    """``{secret id: objects with a part under it}`` over every object of
    ``accounts`` (hidden versions containers included), read raw through
    the tool's own pipeline."""
    found = {}
    for account in accounts:
        lister = rekeyrun.Rekeyer(app, account)
        for cont in lister.containers():
            for name in lister.objects(cont):
                resp = call(app, "HEAD", "/v1/%s/%s/%s" % (account, cont, name),
                            [("X-Backend-Allow-Reserved-Names", "true")],
                            environ=OVERRIDE)
                resp.close()
                assert resp.status == 200, (account, cont, name, resp.status)
                for secret_id in set(rekey.secret_ids(resp.headers).values()):
                    found[secret_id] = found.get(secret_id, 0) + 1
    return found


def keys_usage(cluster, conf, *selection):
    proc = subprocess.run(cluster.python_argv(
        "swiftcrypt.cli", "keys", "usage", "--config", conf, *selection),
        capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


def spawn(cluster, *args):
    return subprocess.Popen(cluster.python_argv("swiftcrypt.cli", "rekey", *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=TIMEOUT):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def verbose_items(out, *outcomes):
    found = []
    for line in out.splitlines():
        for outcome in outcomes:
            if line.startswith(outcome + " "):
                found.append(line[len(outcome) + 1:].rsplit(" (", 1)[0])
    return found


def wait_for_progress(path, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        try:
            with open(path) as fh:
                positions = json.load(fh)["accounts"].values()
        except (OSError, ValueError):
            positions = ()
        # killed only once it saved a rewrite: its first items may all be
        # current (a DLO manifest), and "killed mid-way" means it had re-keyed
        if any(p["counts"].get("re-keyed") for p in positions):
            return
        time.sleep(0.05)
    raise AssertionError("no rewrite saved in %ss" % timeout)


def test_rekey_many_accounts_split_killed_resumed_raced(policies, accounts, tmp_path):
    cluster = policies
    started = time.time()
    cluster.use(swiftcrypt_with(["A"], "A"))
    written = {}
    before_versions = {}
    for account in accounts:
        conn = admin_conn(cluster, account)
        for key, body in populate(conn, account, max(1, OBJECTS // ACCOUNTS)).items():
            written[(account,) + key] = body
        before_versions[account] = versions(conn)
    populated = time.time()
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    app = load_pipeline(conf)
    under_a = secrets_in_use(app, accounts)
    assert under_a.get("A", 0) > len(written) // 2 and "B" not in under_a

    # --all-accounts walks the account DBs on this node's devices: exactly
    # this test's accounts (the cluster is its own)
    every = ["--all-accounts", "--devices", cluster.devices, "--no-mount-check"]
    assert rekeyaccounts.all_accounts(app, cluster.devices, mount_check=False) == \
        sorted(accounts)

    # bad input: one line, exit status 2, nothing rewritten
    listed = tmp_path / "accounts"
    listed.write_text("\n".join(accounts) + "\n")
    unknown = tmp_path / "unknown"
    unknown.write_text(accounts[0] + "\nAUTH_nobody%s\n" % uuid.uuid4().hex[:8])
    state = [str(tmp_path / ("state-%d.json" % i)) for i in range(2)]
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "swiftcrypt-rekey-state", "version": 1, "run": {')
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "swiftcrypt-rekey-state", "version": 1,
                                   "run": {"config": "/elsewhere.conf"}, "accounts": {}}))
    for args, message in [
            (["--accounts-from", str(unknown)], "no such account"),
            (["--accounts-from", str(listed), "--processes", "2", "--process", "5"],
             "--process 5 is out of range: 0 to 1 with --processes 2"),
            (["--accounts-from", str(listed), "--state", str(junk)], "is unreadable"),
            (["--accounts-from", str(listed), "--state", str(foreign)],
             "belongs to another run")]:
        status, out, err = finish(spawn(cluster, "--config", conf, *args))
        lines = [ln for ln in err.splitlines() if "Warning" not in ln and
                 not ln.startswith("  ")]
        assert (status, out) == (2, ""), (args, out, err)
        assert len(lines) == 1 and message in lines[0], (args, err)
    assert secrets_in_use(app, accounts) == under_a
    assert '"run": {' in junk.read_text() and "/elsewhere.conf" in foreign.read_text()

    status, out, err = keys_usage(cluster, conf, *every)
    assert status == 0, err
    assert "scanned %d accounts," % len(accounts) in out, out
    assert "secret B: objects 0, listing entries 0, account metadata 0, container " \
        "metadata 0 (unused)" in out
    assert "secret A: objects %d, " % under_a["A"] in out

    # two processes share the work; process 0 (rate-limited) is killed
    # mid-way and resumed; a client writes while they run
    common = ["--config", conf, *every, "--concurrency", "16", "--processes", "2",
              "--verbose"]
    first = spawn(cluster, *common, "--process", "0", "--state", state[0], "--max-ops", "25")
    other = spawn(cluster, *common, "--process", "1", "--state", state[1],
                  "--json", str(tmp_path / "p1.json"))
    conn = admin_conn(cluster, accounts[-1])
    raced = [key for key in sorted(written) if key[0] == accounts[-1] and key[1] == "plain"
             and key[2].startswith("o")][-5:]
    for account, cont, name in raced:
        body = b"the client's newer write of " + name.encode()
        conn.put_object(cont, name, body, headers={"X-Object-Meta-Who": "client"})
        written[(account, cont, name)] = body
    wait_for_progress(state[0], first)
    first.send_signal(signal.SIGKILL)
    _, killed_out, _ = finish(first)
    assert first.returncode == -signal.SIGKILL
    status1, out1, err1 = finish(other)
    assert status1 == 0, err1
    status0, out0, err0 = finish(spawn(cluster, *common, "--process", "0", "--state", state[0]))
    assert status0 == 0, err0
    assert "resuming from " + state[0] in err0
    rekeyed = verbose_items(killed_out + out0 + out1, "re-keyed")
    assert len(rekeyed) == len(set(rekeyed))  # nothing rewritten twice
    assert verbose_items(killed_out, "re-keyed") and verbose_items(out0, "re-keyed")
    seen0 = verbose_items(killed_out + out0, "re-keyed", "current", "conflict")
    seen1 = verbose_items(out1, "re-keyed", "current", "conflict")
    assert seen0 and seen1 and not set(seen0) & set(seen1)
    summary = json.loads((tmp_path / "p1.json").read_text())
    assert set(summary["accounts"]) == set(accounts)
    assert summary["secrets"]["A"]["re-keyed"] == len(verbose_items(out1, "re-keyed"))
    rekeyed_at = time.time()

    # nothing is under A any more; a second pass finds nothing
    assert set(secrets_in_use(app, accounts)) == {"B"}
    status, out, err = finish(spawn(cluster, "--config", conf, *every, "--dry-run",
                                    "--concurrency", "16"))
    assert status == 0, err
    assert out.count("would re-key 0, conflicts 0, failures 0") == len(accounts), out

    status, out, err = keys_usage(cluster, conf, *every)
    assert status == 0, err
    assert "secret A: objects 0, listing entries 0, account metadata 0, container " \
        "metadata 0 (unused)" in out, out

    # A is removed: Swift's own encryption holding only B reads everything
    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    for account in accounts:
        conn = admin_conn(cluster, account)
        assert versions(conn) == before_versions[account]
        old_id = before_versions[account][1][0]
        assert conn.get_object("vers", "doc", query_string="version-id=" + old_id)[1] == \
            b"version first"
        assert conn.head_object("ec", "big")["x-object-meta-kind"] == "ec"
    for (account, cont, name), body in written.items():
        headers, got = admin_conn(cluster, account).get_object(cont, name)
        assert got == body, (account, cont, name)
        if (account, cont, name) in raced:
            assert headers["x-object-meta-who"] == "client"
    print("%d accounts, %d objects: written in %.1fs, re-keyed in %.1fs, checked in %.1fs" % (
        len(accounts), len(written), populated - started, rekeyed_at - populated,
        time.time() - rekeyed_at))
