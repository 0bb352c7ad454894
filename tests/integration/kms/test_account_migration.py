"""The documented move from ``kms_keymaster`` (one root secret) to
``account_keymaster`` (doc/account-secrets.md, "Moving to
account_keymaster"), against a real Barbican (no auth), over the embedded
store.

Objects of two accounts written under kms_keymaster; the pipeline becomes
``kms_keymaster account_keymaster encryption store`` (the old keymaster
kept in front) and the old objects still read; ``swiftcrypt rekey`` runs
per account through that pipeline; then a pipeline with ONLY
account_keymaster reads every object, metadata value and listing etag of
both accounts, and their encrypted account and container metadata; every
encrypted part and value of each account is stored under that account's
own Barbican secret (distinct per account), and a second run has nothing
to do. The Barbican fixture raises if it cannot start: this
test fails, never skips.
"""

import json
import uuid

import pytest
from paste.deploy import loadapp

from swiftcrypt import cli

from swiftcrypt.rekey import plan
from swiftcrypt.keymanager import barbican
from tests.integration.kms.conftest import new_secret, noauth_conf
from tests.integration.kms.conftest import raw_store as store_app
from tests.support.rekeying import request, summary_counts
from swiftcrypt.common import checksums

OBJECTS = {
    # (container, name as real text): (body, headers as WSGI strings)
    ("c1", "plain"): (b"plain body " * 3000, [("Content-Type", "application/x-test")]),
    ("c1", "with-meta"): (b"metadata object body " * 40, [
        ("X-Object-Meta-Color", "blue"), ("X-Object-Meta-Word", "h\xc3\xa9llo")]),
    ("c1", "empty-meta"): (b"", [("X-Object-Meta-Tag", "zero")]),
    ("c2", "caf\u00e9 \u00fcn\u00efcode"): (b"unicode name body", [
        ("X-Object-Meta-Color", "green")]),
}


def body_of(account, cont, name):
    """Each account's bodies differ, so a mix-up cannot pass."""
    body = OBJECTS[(cont, name)][0]
    return (account.encode() + b":" + body) if body else body


def write_conf(path, data_dir, conn, key_id, old_keymaster, new_keymaster):
    """``[kms_keymaster] [account_keymaster] encryption store``."""
    filters = (["kms_keymaster"] if old_keymaster else []) + \
        (["account_keymaster"] if new_keymaster else [])
    lines = ["[pipeline:main]", "pipeline = %s encryption store" % " ".join(filters), "",
             "[filter:kms_keymaster]", "use = egg:swiftcrypt#kms_keymaster"]
    lines += ["%s = %s" % kv for kv in conn.items()]
    lines += ["key_id = %s" % key_id, "",
              "[filter:account_keymaster]", "use = egg:swiftcrypt#account_keymaster"]
    lines += ["%s = %s" % kv for kv in conn.items()]
    lines += ["", "[filter:encryption]", "use = egg:swiftcrypt#encryption",
              "encrypt_account_metadata = true", "encrypt_container_metadata = true", "",
              "[app:store]", "use = egg:swiftcrypt#store", "data_dir = %s" % data_dir, ""]
    path.write_text("\n".join(lines))
    return str(path)


req = request


def md5(data):
    return checksums.md5(data).hexdigest()


CONTAINERS = ("c1", "c2")
DB_META = {"X-Account-Sysmeta-Crypto-Meta-": (), "X-Container-Sysmeta-Crypto-Meta-": CONTAINERS}


def db_meta_value(account, *parts):
    """The encrypted metadata value of an account or container, its own."""
    return "/".join((account,) + parts) + ":secret"


def stored_db_meta_ids(data_dir, account):
    """``{(container or None): {secret ids}}`` of the encrypted account and
    container metadata values, from the raw store."""
    found = {}
    for prefix, containers in DB_META.items():
        for parts in ([()] if not containers else [(c,) for c in containers]):
            resp = req(store_app(data_dir), "HEAD", account, *parts)
            assert resp.status // 100 == 2, resp.reason
            found[parts[0] if parts else None] = set(
                plan.meta_secret_ids(resp.headers, prefix).values())
    return found


def assert_db_meta_reads(app, account):
    for parts, kind in [((), "Account")] + [((c,), "Container") for c in CONTAINERS]:
        resp = req(app, "HEAD", account, *parts)
        assert resp.header("X-%s-Meta-Secret" % kind) == db_meta_value(account, *parts), (
            account, parts, resp.status)


def user_meta(headers):
    return {n.lower(): v for n, v in headers if n.lower().startswith("x-object-meta-")}


def run_rekey(capsys, conf, account, *extra):
    status = cli.main(["rekey", "--config", conf, "--account", account, *extra])
    out, err = capsys.readouterr()
    return status, out, err


def stored_ids(data_dir, account, *parts):
    """``{part: secret id}`` of an object's encrypted parts, from the raw store."""
    resp = req(store_app(data_dir), "HEAD", account, *parts)
    assert resp.status == 200, resp.reason
    return plan.secret_ids(resp.headers)


def assert_all_read(app, account):
    for (cont, name), (_, headers) in OBJECTS.items():
        body = body_of(account, cont, name)
        got = req(app, "GET", account, cont, name)
        assert got.status == 200, (account, name, got.reason, got.data)
        assert got.data == body, (account, name)
        assert got.header("Etag").strip('"') == md5(body), (account, name)
        assert user_meta(got.headers) == user_meta(headers), (account, name)
    for cont in CONTAINERS:
        resp = req(app, "GET", account, cont, query="format=json")
        assert resp.status == 200, resp.reason
        listing = {e["name"]: e["hash"] for e in json.loads(resp.data)}
        assert listing == {name: md5(body_of(account, c, name))
                           for c, name in OBJECTS if c == cont}, (account, cont)


@pytest.fixture
def manager_for(barbican_noauth):
    made = []

    def make(project):
        km = barbican.BarbicanKeyManager(barbican.BarbicanOptions.from_conf(
            noauth_conf(barbican_noauth, project=project)))
        made.append(km)
        return km

    yield make
    for km in made:
        km.close()


def test_move_from_kms_keymaster_to_account_keymaster(barbican_noauth, manager_for, tmp_path,
                                                      capsys):
    tag = uuid.uuid4().hex[:8]
    project = "migrate-" + tag  # this test's own Barbican project
    accounts = ("AUTH_ma%s" % tag, "AUTH_mb%s" % tag)
    conn = noauth_conf(barbican_noauth, project=project)
    key_id = barbican_noauth.store_secret(new_secret(), project_id=project)
    data_dir = tmp_path / "data"

    def conf(name, old_keymaster, new_keymaster):
        return write_conf(tmp_path / name, data_dir, conn, key_id, old_keymaster,
                          new_keymaster)

    # 1. both accounts written under kms_keymaster's single secret
    old = loadapp("config:" + conf("old.conf", True, False))
    for account in accounts:
        for cont in CONTAINERS:
            assert req(old, "PUT", account, cont).status in (201, 202)
            assert req(old, "POST", account, cont, headers=[(
                "X-Container-Meta-Secret", db_meta_value(account, cont))]).status == 204
        assert req(old, "POST", account, headers=[
            ("X-Account-Meta-Secret", db_meta_value(account))]).status == 204
        assert stored_db_meta_ids(data_dir, account) == dict.fromkeys(
            (None,) + CONTAINERS, {None})
        for (cont, name), (_, headers) in OBJECTS.items():
            resp = req(old, "PUT", account, cont, name, headers=headers,
                       body=body_of(account, cont, name))
            assert resp.status == 201, (account, name, resp.reason, resp.data)
            ids = stored_ids(data_dir, account, cont, name)
            assert ids and set(ids.values()) == {None}, (account, name, ids)
    assert_all_read(old, accounts[0])
    assert_db_meta_reads(old, accounts[0])

    # 2. the old keymaster kept in front of account_keymaster: old objects read
    migrating = conf("migrating.conf", True, True)
    both = loadapp("config:" + migrating)
    for account in accounts:
        assert_all_read(both, account)
        assert_db_meta_reads(both, account)
    # reads made no account secret; without the old keymaster nothing reads yet
    manager = manager_for(project)
    new_conf = conf("new.conf", False, True)
    for account in accounts:
        assert manager.list_secrets("swiftcrypt-account:" + account) == []
        got = req(loadapp("config:" + new_conf), "GET", account, "c1", "with-meta")
        assert got.status != 200 and body_of(account, "c1", "with-meta") not in got.data

    # 3. rekey per account through that pipeline
    for account in accounts:
        status, out, err = run_rekey(capsys, migrating, account, "--verbose")
        assert status == 0, out + err
        assert err == ""
        # the objects, the account's metadata and each container's
        assert summary_counts(out) == {
            "scanned": len(OBJECTS) + 3, "already current": 0, "re-keyed": len(OBJECTS) + 3,
            "conflicts": 0, "failures": 0, "unencrypted": 0, "expired": 0}, out
        assert "re-keyed container metadata c2" in out

    # each account got one Barbican secret of its own, holding every part
    secret_ids = {}
    for account in accounts:
        infos = manager.list_secrets("swiftcrypt-account:" + account)
        assert len(infos) == 1, (account, infos)
        secret_ids[account] = infos[0].key_id
    assert len(set(secret_ids.values())) == len(accounts)
    assert key_id not in secret_ids.values()
    for account in accounts:
        for cont, name in OBJECTS:
            ids = stored_ids(data_dir, account, cont, name)
            assert ids and set(ids.values()) == {secret_ids[account]}, (account, name, ids)
        assert stored_db_meta_ids(data_dir, account) == dict.fromkeys(
            (None,) + CONTAINERS, {secret_ids[account]})

    # 4. only account_keymaster (no old keymaster) reads everything
    new = loadapp("config:" + new_conf)
    for account in accounts:
        assert_all_read(new, account)
        assert_db_meta_reads(new, account)

    # 5. a second run has nothing to do, with and without the old keymaster
    for config in (migrating, new_conf):
        for account in accounts:
            status, out, err = run_rekey(capsys, config, account)
            assert status == 0, out + err
            counts = summary_counts(out)
            assert counts["already current"] == len(OBJECTS) + 3, out
            assert counts["re-keyed"] == counts["conflicts"] == counts["failures"] == 0, out
    for account in accounts:
        assert len(manager.list_secrets("swiftcrypt-account:" + account)) == 1
