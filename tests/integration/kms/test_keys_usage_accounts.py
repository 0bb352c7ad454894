"""``swiftcrypt keys usage`` with ``account_keymaster``: per-account root
secrets in a real Barbican (no auth), over the embedded store.

Objects (and encrypted account and container metadata) of two accounts
are written, each account getting its own Barbican secret; one account's
secret is rotated (``swiftcrypt keys rotate``); the inventory names every
account secret, the old one still in use; ``swiftcrypt rekey`` re-keys
both accounts; then the inventory reports the old account secret unused
while the other account's secret is still in use; the old secret is
retired (``swiftcrypt keys shred --secret-id``) and every object and
metadata value of both accounts reads back through a fresh pipeline. The
Barbican fixture raises if it cannot start: this test fails, never skips.
"""

import datetime
import json
import sqlite3
import subprocess
import sys
import uuid

from paste.deploy import loadapp

from swiftcrypt.rekey import plan
from tests.integration.kms.conftest import noauth_conf
from tests.integration.kms.conftest import raw_store as store_app
from tests.support.rekeying import request, summary_counts

# (container, name): (body, headers)
OBJECTS = {
    ("c1", "plain"): (b"plain body " * 500, []),
    ("c1", "meta"): (b"with metadata", [("X-Object-Meta-Color", "blue")]),
    ("c1", "empty-meta"): (b"", [("X-Object-Meta-Tag", "zero")]),
    ("c2", "caf\u00e9"): (b"unicode name", [("X-Object-Meta-Color", "green")]),
}
ENCRYPTED = len(OBJECTS)  # every object has a part to encrypt
LISTED = sum(1 for body, _h in OBJECTS.values() if body)  # listing etags of bodies


def write_conf(path, data_dir, conn):
    lines = ["[pipeline:main]", "pipeline = account_keymaster encryption store", "",
             "[filter:account_keymaster]", "use = egg:swiftcrypt#account_keymaster"]
    lines += ["%s = %s" % kv for kv in conn.items()]
    lines += ["", "[filter:encryption]", "use = egg:swiftcrypt#encryption",
              "encrypt_account_metadata = true", "encrypt_container_metadata = true", "",
              "[app:store]", "use = egg:swiftcrypt#store", "data_dir = %s" % data_dir, ""]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return str(path)


def swiftcrypt(*args):
    proc = subprocess.run([sys.executable, "-m", "swiftcrypt.cli", *args],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def body_of(account, cont, name):
    body = OBJECTS[(cont, name)][0]
    return account.encode() + b":" + body if body else body


def backdate(barbican_server, name, seconds):
    """Make Barbican's secrets named ``name`` ``seconds`` older, as if they
    had been created that long ago (``keys rotate`` refuses a rotation
    within a minute of the newest secret; a test cannot wait that long)."""
    db = sqlite3.connect(str(barbican_server.workdir / "barbican.db"), timeout=30)
    try:
        rows = db.execute("SELECT id, created_at FROM secrets WHERE name = ? AND deleted = 0",
                          (name,)).fetchall()
        assert rows, name
        for row_id, created in rows:
            when = datetime.datetime.fromisoformat(created) - datetime.timedelta(
                seconds=seconds)
            db.execute("UPDATE secrets SET created_at = ? WHERE id = ?",
                       (when.strftime("%Y-%m-%d %H:%M:%S.%f"), row_id))
        db.commit()
    finally:
        db.close()


def usage(conf, listed, json_path):
    status, out, err = swiftcrypt("keys", "usage", "--config", conf, "--accounts-from",
                                  listed, "--json", json_path)
    with open(json_path) as fh:
        return status, out, err, json.load(fh)


def line_of(out, secret_id):
    return next(line for line in out.splitlines() if line.startswith("secret %s " % secret_id))


def test_old_account_secret_reported_unused_after_rekey_then_retired(
        barbican_noauth, manager, tmp_path):
    tag = uuid.uuid4().hex[:8]
    rotated, other = "AUTH_kua%s" % tag, "AUTH_kub%s" % tag
    data_dir = tmp_path / "data"
    conf = write_conf(tmp_path / "pipeline.conf", data_dir, noauth_conf(barbican_noauth))
    listed = tmp_path / "accounts"
    listed.write_text("%s\n%s\n" % (rotated, other))

    client = loadapp("config:" + conf)
    for account in (rotated, other):
        resp = request(client, "POST", account, headers=[("X-Account-Meta-Owner", account)])
        assert resp.status == 204, resp.data
        for cont in ("c1", "c2"):
            resp = request(client, "PUT", account, cont,
                           headers=[("X-Container-Meta-Note", cont + " of " + account)])
            assert resp.status in (201, 202)
        for (cont, name), (_body, headers) in OBJECTS.items():
            resp = request(client, "PUT", account, cont, name, headers=headers,
                           body=body_of(account, cont, name))
            assert resp.status == 201, resp.data
    old = {a: [i.key_id for i in manager.list_secrets("swiftcrypt-account:" + a)]
           for a in (rotated, other)}
    assert len(old[rotated]) == len(old[other]) == 1
    old_id, other_id = old[rotated][0], old[other][0]

    # rotate the first account's secret (as if it were made a while ago)
    backdate(barbican_noauth, "swiftcrypt-account:" + rotated, 120)
    status, out, err = swiftcrypt("keys", "rotate", "--account", rotated, "--config", conf)
    assert status == 0, err
    new_id = out.splitlines()[0]
    assert [i.key_id for i in manager.list_secrets("swiftcrypt-account:" + rotated)] == [
        old_id, new_id]

    # before the re-key: the old secret holds everything of its account
    status, out, err, found = usage(conf, str(listed), str(tmp_path / "before.json"))
    assert status == 0, err
    everything = {"objects": ENCRYPTED, "listing entries": LISTED, "account metadata": 1,
                  "container metadata": 2}
    assert found["secrets"][old_id] == everything
    assert found["secrets"][other_id] == everything
    assert found["account secrets"] == {old_id: rotated, new_id: rotated, other_id: other}
    assert found["unused"] == [new_id]  # nothing written under it yet
    assert "(unused)" not in line_of(out, old_id)
    assert line_of(out, old_id).startswith("secret %s (account %s): objects %d," % (
        old_id, rotated, ENCRYPTED))

    status = subprocess.run([sys.executable, "-m", "swiftcrypt.cli", "rekey", "--config",
                             conf, "--accounts-from", str(listed), "--concurrency", "4"],
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    counts = [summary_counts(line) for line in status.stdout.splitlines()]
    # the rotated account: every object and both levels of metadata; the other: nothing
    assert [c["re-keyed"] for c in counts] == [ENCRYPTED + 3, 0], status.stdout

    # after: the old account secret is unused, the other account's still in use
    status, out, err, found = usage(conf, str(listed), str(tmp_path / "after.json"))
    assert status == 0, err
    assert found["unused"] == [old_id]
    assert found["secrets"][new_id] == everything
    assert found["secrets"][other_id] == everything
    assert line_of(out, old_id) == (
        "secret %s (account %s): objects 0, listing entries 0, account metadata 0, "
        "container metadata 0 (unused)" % (old_id, rotated))

    # retire it: shred the old secret through the keys CLI
    status, out, err = swiftcrypt("keys", "shred", "--account", rotated, "--secret-id",
                                  old_id, "--config", conf, "--yes")
    assert status == 0, err
    assert [i.key_id for i in manager.list_secrets("swiftcrypt-account:" + rotated)] == [
        new_id]

    # a fresh pipeline reads every object and metadata value of both accounts
    reader = loadapp("config:" + conf)
    raw = store_app(data_dir)
    for account in (rotated, other):
        got = request(reader, "HEAD", account)
        assert got.status == 204 and got.header("X-Account-Meta-Owner") == account
        for cont in ("c1", "c2"):
            got = request(reader, "HEAD", account, cont)
            assert got.header("X-Container-Meta-Note") == cont + " of " + account
        for (cont, name), (_body, headers) in OBJECTS.items():
            got = request(reader, "GET", account, cont, name)
            assert got.status == 200, (account, name, got.status)
            assert got.data == body_of(account, cont, name)
            for hname, value in headers:
                assert got.header(hname) == value
            stored = request(raw, "HEAD", account, cont, name)
            want = new_id if account == rotated else other_id
            assert set(plan.secret_ids(stored.headers).values()) == {want}
    status, out, err, found = usage(conf, str(listed), str(tmp_path / "retired.json"))
    assert status == 0, err
    assert old_id not in found["secrets"] and found["unused"] == []
