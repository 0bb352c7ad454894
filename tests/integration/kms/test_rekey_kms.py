"""``swiftcrypt rekey`` with ``kms_keymaster`` as the tool's keymaster,
against a real Barbican (no auth), over the embedded store.

Objects written under Barbican secret A (``key_id_a``); rotation adds
secret B (``key_id_b``, ``active_root_secret_id = b``); the rekey CLI runs
through an internal pipeline like etc/rekey-standalone.conf-sample with
``kms_keymaster`` holding both; then a pipeline holding ONLY secret B
reads every body, user metadata value and listing etag, every encrypted
part is stored under ``b``, and a second run re-keys nothing. The
Barbican fixture raises if it cannot start: this test fails, never skips.
"""

import json
import os
import time

from paste.deploy import loadapp

from swiftcrypt import cli

from swiftcrypt.rekey import plan
from tests.integration.kms.conftest import PROJECT, new_secret, noauth_conf
from tests.integration.kms.conftest import raw_store as store_app
from tests.support.rekeying import request, summary_counts
from swiftcrypt.common import checksums

ACCOUNT = "AUTH_kmsrekey"

OBJECTS = {
    # (container, name as real text): (body, headers as WSGI strings)
    ("c1", "plain"): (os.urandom(150 * 1024 + 3), [("Content-Type", "application/x-test")]),
    ("c1", "with-meta"): (b"metadata object body " * 40, [
        ("X-Object-Meta-Color", "blue"), ("X-Object-Meta-Word", "h\xc3\xa9llo"),
        ("Content-Type", "text/plain")]),
    ("c1", "empty"): (b"", []),
    ("c1", "empty-meta"): (b"", [("X-Object-Meta-Tag", "zero")]),
    ("c1", "d\u00efr/\u00fcni c\u00f6d\u00e9"): (b"unicode name body", [
        ("X-Object-Meta-Color", "green")]),
    ("c2", "expiring"): (b"expiring body", [("X-Delete-At", str(int(time.time()) + 3600))]),
    ("c2", "posted"): (b"posted body", [("X-Object-Meta-Old", "gone")]),
}
POSTED_META = {"x-object-meta-new": "fresh"}
NEW_UNDER_B = ("c1", "new-under-b", b"written after the rotation")


def write_conf(path, data_dir, key_ids, active, conn, gatekeeper=False):
    """A standalone pipeline with kms_keymaster holding ``key_ids``
    (``{secret id: Barbican key id}``)."""
    lines = ["[pipeline:main]",
             "pipeline = %skms_keymaster encryption store" % ("gatekeeper " if gatekeeper else ""),
             "", "[filter:gatekeeper]",
             "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory",
             "", "[filter:kms_keymaster]", "use = egg:swiftcrypt#kms_keymaster"]
    lines += ["%s = %s" % kv for kv in conn.items()]
    lines += ["key_id_%s = %s" % (sid, key_id) for sid, key_id in sorted(key_ids.items())]
    lines += ["active_root_secret_id = %s" % active, "",
              "[filter:encryption]", "use = egg:swiftcrypt#encryption", "",
              "[app:store]", "use = egg:swiftcrypt#store", "data_dir = %s" % data_dir, ""]
    path.write_text("\n".join(lines))
    return str(path)


def req(app, method, *parts, headers=(), body=None, query=""):
    return request(app, method, ACCOUNT, *parts, headers=headers, body=body,
                   query=query)


def md5(data):
    return checksums.md5(data).hexdigest()


def run_rekey(capsys, conf, *extra):
    status = cli.main(["rekey", "--config", conf, "--account", ACCOUNT, *extra])
    out, err = capsys.readouterr()
    return status, out, err


def stored_ids(data_dir, *parts):
    """Secret ids of an object's encrypted parts, from the raw store."""
    resp = req(store_app(data_dir), "HEAD", *parts)
    assert resp.status == 200, resp.reason
    return set(plan.secret_ids(resp.headers).values())


def user_meta(headers):
    return {n.lower(): v for n, v in headers if n.lower().startswith("x-object-meta-")}


def test_rekey_through_kms_keymaster_moves_everything_to_secret_b(barbican_noauth, tmp_path,
                                                                  capsys):
    conn = noauth_conf(barbican_noauth)
    ids = {"a": barbican_noauth.store_secret(new_secret(), project_id=PROJECT),
           "b": barbican_noauth.store_secret(new_secret(), project_id=PROJECT)}
    data_dir = tmp_path / "data"

    def conf(name, secret_ids, active, gatekeeper=False):
        return write_conf(tmp_path / name, data_dir, {s: ids[s] for s in secret_ids}, active,
                          conn, gatekeeper)

    # written under A only
    client_a = loadapp("config:" + conf("client-a.conf", "a", "a", gatekeeper=True))
    for cont in ("c1", "c2"):
        assert req(client_a, "PUT", cont).status in (201, 202)
    for (cont, name), (body, headers) in OBJECTS.items():
        resp = req(client_a, "PUT", cont, name, headers=headers, body=body)
        assert resp.status == 201, (name, resp.reason, resp.data)
    assert req(client_a, "POST", "c2", "posted",
               headers=[("X-Object-Meta-New", "fresh")]).status == 202
    for cont, name in OBJECTS:
        assert stored_ids(data_dir, cont, name) == (set() if name == "empty" else {"a"}), name

    # rotation: B active, A kept; a new write is under B already
    rotated = loadapp("config:" + conf("client-ab.conf", "ab", "b", gatekeeper=True))
    cont, name, body = NEW_UNDER_B
    assert req(rotated, "PUT", cont, name, body=body).status == 201
    assert stored_ids(data_dir, cont, name) == {"b"}

    rekey_conf = conf("rekey.conf", "ab", "b")
    status, out, err = run_rekey(capsys, rekey_conf, "--verbose")
    assert status == 0, out + err
    assert err == ""
    assert summary_counts(out) == {
        "scanned": len(OBJECTS) + 1, "already current": 2, "re-keyed": len(OBJECTS) - 1,
        "conflicts": 0, "failures": 0, "unencrypted": 0, "expired": 0}, out
    assert "re-keyed c1/with-meta (a -> b)" in out
    assert "re-keyed c1/d%C3%AFr/%C3%BCni%20c%C3%B6d%C3%A9 (a -> b)" in out

    # a pipeline holding only secret B reads everything
    only_b = loadapp("config:" + conf("client-b.conf", "b", "b", gatekeeper=True))
    for (cont, name), (body, headers) in OBJECTS.items():
        got = req(only_b, "GET", cont, name)
        assert got.status == 200, (name, got.reason, got.data)
        assert got.data == body, name
        assert got.header("Etag").strip('"') == md5(body), name
        want = POSTED_META if name == "posted" else user_meta(headers)
        assert user_meta(got.headers) == want, name
        for hname, value in headers:
            if hname.lower() in ("content-type", "x-delete-at"):
                assert got.header(hname) == value, (name, hname)
        assert stored_ids(data_dir, cont, name) == (set() if name == "empty" else {"b"}), name
    got = req(only_b, "GET", NEW_UNDER_B[0], NEW_UNDER_B[1])
    assert got.status == 200 and got.data == NEW_UNDER_B[2]

    bodies = {key: body for key, (body, _) in OBJECTS.items()}
    bodies[NEW_UNDER_B[:2]] = NEW_UNDER_B[2]
    for cont in ("c1", "c2"):
        listing = json.loads(req(only_b, "GET", cont, query="format=json").data)
        want = {name: md5(body) for (c, name), body in bodies.items() if c == cont}
        assert {e["name"]: e["hash"] for e in listing} == want, cont

    # a pipeline holding only A no longer reads a re-keyed object
    only_a = loadapp("config:" + conf("client-a2.conf", "a", "a", gatekeeper=True))
    assert req(only_a, "GET", "c1", "with-meta").status >= 500

    # nothing left to do
    status, out, err = run_rekey(capsys, rekey_conf)
    assert status == 0, out + err
    counts = summary_counts(out)
    assert counts["re-keyed"] == 0 and counts["conflicts"] == 0 and counts["failures"] == 0
    assert counts["already current"] == len(OBJECTS) + 1
    status, out, _ = run_rekey(capsys, rekey_conf, "--dry-run")
    assert status == 0 and summary_counts(out)["would re-key"] == 0
