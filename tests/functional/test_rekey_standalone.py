"""``swiftcrypt rekey`` over the embedded store, in-process: objects
written under root secret A are rewritten under B, so that a pipeline
holding only B reads them (bodies, metadata, listing etags); a second run
has nothing to do; a client write racing the tool wins."""

import base64
import json
import os
import time
import uuid

import pytest
from paste.deploy import loadapp

from swiftcrypt import cli

from swiftcrypt.rekey import plan

from swiftcrypt.rekey import run
from swiftcrypt.crypto.account_container_metadata import CONTAINER
from swiftcrypt.common.wsgiclient import call
from tests.functional.conftest import found_in_files
from tests.support.racing import RaceFirst
from tests.support.rekeying import request, summary_counts
from swiftcrypt.common import checksums

ACCOUNT = "AUTH_test"
SECRETS = {"A": os.urandom(32), "B": os.urandom(32)}
OVERRIDE = {"swift.crypto.override": True}


def write_conf(path, data_dir, secret_ids, active, gatekeeper, encryption=()):
    """A standalone pipeline holding root secrets ``secret_ids``;
    ``encryption``: extra option lines of the encryption filter."""
    lines = ["[pipeline:main]",
             "pipeline = %skeymaster encryption store" % ("gatekeeper " if gatekeeper else ""),
             "", "[filter:gatekeeper]",
             "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory",
             "", "[filter:keymaster]", "use = egg:swiftcrypt#keymaster"]
    for secret_id in secret_ids:
        lines.append("encryption_root_secret_%s = %s" % (
            secret_id, base64.b64encode(SECRETS[secret_id]).decode()))
    lines += ["active_root_secret_id = %s" % active, "",
              "[filter:encryption]", "use = egg:swiftcrypt#encryption", *encryption, "",
              "[app:store]", "use = egg:swiftcrypt#store", "data_dir = %s" % data_dir, ""]
    path.write_text("\n".join(lines))
    return str(path)


class Setup:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.data_dir = str(tmp_path / "data")

    def conf(self, name, secret_ids, active, gatekeeper=False, encryption=()):
        return write_conf(self.tmp / name, self.data_dir, secret_ids, active, gatekeeper,
                          encryption)

    def client(self, secret_ids, active, encrypt_meta=False):
        """A client-facing pipeline (with gatekeeper); ``encrypt_meta``:
        it encrypts container and account metadata."""
        name = "client-%s-%s%s.conf" % ("".join(secret_ids), active,
                                        "-meta" if encrypt_meta else "")
        encryption = ("encrypt_container_metadata = true",
                      "encrypt_account_metadata = true") if encrypt_meta else ()
        return loadapp("config:" + self.conf(name, secret_ids, active, gatekeeper=True,
                                             encryption=encryption))

    def internal(self, secret_ids, active):
        """A pipeline without gatekeeper: raw sysmeta reaches the caller."""
        name = "internal-%s-%s.conf" % ("".join(secret_ids), active)
        return loadapp("config:" + self.conf(name, secret_ids, active))

    def rekey_conf(self):
        return self.conf("rekey.conf", ["A", "B"], "B")


def req(app, method, *parts, headers=(), body=None, query="", environ=None):
    return request(app, method, ACCOUNT, *parts, headers=headers, body=body,
                   query=query, environ=environ)


def md5(data):
    return checksums.md5(data).hexdigest()


def run_cli(capsys, *args):
    status = cli.main(["rekey", *args])
    out, err = capsys.readouterr()
    return status, out, err


def raw_ids(app, *parts):
    """Secret ids of an object's encrypted parts (``app`` has no gatekeeper)."""
    resp = req(app, "HEAD", *parts, environ=OVERRIDE)
    assert resp.status == 200, resp.reason
    assert resp.header("X-Backend-Timestamp")  # not filtered by a gatekeeper
    return set(plan.secret_ids(resp.headers).values())


@pytest.fixture
def setup(tmp_path):
    return Setup(tmp_path)


OBJECTS = {
    # (container, name): (body, headers)
    ("c1", "plain"): (os.urandom(200 * 1024 + 7), [("Content-Type", "application/x-test")]),
    ("c1", "with-meta"): (b"metadata object body " * 50, [
        ("X-Object-Meta-Color", "blue"), ("X-Object-Meta-Word", "h\xc3\xa9llo"),
        ("Content-Type", "text/plain")]),
    ("c1", "empty"): (b"", []),
    ("c1", "empty-meta"): (b"", [("X-Object-Meta-Tag", "zero")]),
    ("c1", "d\xc3\xafr/\xc3\xbcni c\xc3\xb6d\xc3\xa9"): (b"unicode name body", []),
    ("c2", "expiring"): (b"expiring body", [("X-Delete-At", str(int(time.time()) + 3600))]),
    ("c2", "posted"): (b"posted body", [("X-Object-Meta-Old", "gone")]),
}


def wsgi_name(name):
    return name.encode("latin-1").decode("utf-8")


def write_under_a(setup):
    client = setup.client(["A"], "A")
    for cont in ("c1", "c2"):
        assert req(client, "PUT", cont).status in (201, 202)
    for (cont, name), (body, headers) in OBJECTS.items():
        resp = req(client, "PUT", cont, wsgi_name(name), headers=headers, body=body)
        assert resp.status == 201, (name, resp.reason, resp.data)
    resp = req(client, "POST", "c2", "posted", headers=[("X-Object-Meta-New", "fresh")])
    assert resp.status == 202
    return client


def expected_meta(name):
    if name == "posted":
        return {"x-object-meta-new": "fresh"}
    return {n.lower(): v for n, v in OBJECTS[("c2" if name in ("expiring",) else "c1", name)][1]
            if n.lower().startswith("x-object-meta-")}


def test_rekey_moves_everything_to_the_active_secret(setup, capsys):
    write_under_a(setup)
    # after rotation a new object is written under B already
    rotated = setup.client(["A", "B"], "B")
    assert req(rotated, "PUT", "c1", "new-under-b", body=b"already current").status == 201

    status, out, err = run_cli(capsys, "--config", setup.rekey_conf(), "--account", ACCOUNT,
                               "--verbose")
    assert status == 0, out + err
    assert err == ""
    counts = summary_counts(out)
    # 'empty' has nothing encrypted: it is current under any secret
    assert counts == {"scanned": 8, "already current": 2, "re-keyed": 6, "conflicts": 0,
                      "failures": 0, "unencrypted": 0, "expired": 0}, out
    assert "re-keyed c1/with-meta (A -> B)" in out
    assert "re-keyed c1/d%C3%AFr/%C3%BCni%20c%C3%B6d%C3%A9 (A -> B)" in out

    only_b = setup.client(["B"], "B")
    raw = setup.internal(["B"], "B")
    for (cont, name), (body, headers) in OBJECTS.items():
        got = req(only_b, "GET", cont, wsgi_name(name))
        assert got.status == 200, (name, got.reason, got.data)
        assert got.data == body
        assert got.header("Etag").strip('"') == md5(body)
        meta = {n.lower(): v for n, v in got.headers if n.lower().startswith("x-object-meta-")}
        want = {n.lower(): v for n, v in headers if n.lower().startswith("x-object-meta-")}
        if name == "posted":
            want = {"x-object-meta-new": "fresh"}
        assert meta == want, name
        for hname, value in headers:
            if hname.lower() in ("content-type", "x-delete-at"):
                assert got.header(hname) == value, (name, hname)
        ids = raw_ids(raw, cont, wsgi_name(name))
        assert ids == (set() if name == "empty" else {"B"}), name
    for cont in ("c1", "c2"):
        listing = json.loads(req(only_b, "GET", cont, query="format=json").data)
        for entry in listing:
            body = OBJECTS.get((cont, entry["name"].encode("utf-8").decode("latin-1")),
                               (b"already current", None))[0]
            assert entry["hash"] == md5(body), entry

    # nothing left to do
    status, out, _ = run_cli(capsys, "--config", setup.rekey_conf(), "--account", ACCOUNT)
    assert status == 0
    assert summary_counts(out)["re-keyed"] == 0
    assert summary_counts(out)["already current"] == 8
    assert out.count("\n") == 1  # not verbose: the summary only


def test_dry_run_and_limit(setup, capsys):
    write_under_a(setup)
    conf = setup.rekey_conf()
    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT, "--dry-run", "-v")
    assert status == 0
    assert out.splitlines()[-1].startswith("dry run: ")
    assert summary_counts(out)["would re-key"] == 6
    assert "would re-key c1/plain (A -> B)" in out
    raw = setup.internal(["A", "B"], "B")
    assert raw_ids(raw, "c1", "plain") == {"A"}

    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT,
                             "--container", "c1", "--limit", "2")
    assert status == 0
    counts = summary_counts(out)
    assert counts["re-keyed"] == 2 and counts["conflicts"] == 0
    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT, "--container", "c1")
    assert summary_counts(out)["re-keyed"] == 2  # the rest of c1's four stale objects
    assert raw_ids(raw, "c2", "posted") == {"A"}  # other containers untouched


def container_meta_ids(app, cont):
    """``{name: secret id}`` of a container's encrypted metadata values."""
    resp = req(app, "HEAD", cont, environ=OVERRIDE)
    assert resp.status == 204, resp.reason
    return {name[len(CONTAINER.crypto_prefix):]: secret_id for name, secret_id in
            plan.meta_secret_ids(resp.headers, CONTAINER.crypto_prefix).items()}


def test_container_metadata_is_re_keyed(setup, capsys):
    """Encrypted container metadata under A is re-encrypted under B,
    container by container (with --container too), never written plain;
    a pipeline that lost A fails on it rather than skipping it."""
    write_under_a(setup)
    values = {cont: "%s-meta-%s" % (cont, uuid.uuid4().hex) for cont in ("c1", "c2")}
    under_a = setup.client(["A"], "A", encrypt_meta=True)
    for cont, value in values.items():
        resp = req(under_a, "POST", cont, headers=[("X-Container-Meta-Secret", value),
                                                   ("X-Container-Meta-Web-Index", "i.html")])
        assert resp.status == 204, resp.data
    later = "under-b-" + uuid.uuid4().hex
    rotated = setup.client(["A", "B"], "B", encrypt_meta=True)
    assert req(rotated, "POST", "c1", headers=[("X-Container-Meta-Later", later)]).status == 204
    raw = setup.internal(["A", "B"], "B")
    assert container_meta_ids(raw, "c1") == {"Secret": "A", "Later": "B"}
    conf = setup.rekey_conf()  # its encryption filter encrypts no metadata

    lost_a = setup.conf("lost-a.conf", ["B"], "B")
    status, out, err = run_cli(capsys, "--config", lost_a, "--account", ACCOUNT,
                               "--container", "c1")
    assert status == 1
    assert "error: failed container metadata c1 (decrypting HEAD answered 500)" in err, err
    assert summary_counts(out)["failures"] == 5  # c1's metadata and its four stale objects

    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT, "--dry-run", "-v")
    assert status == 0
    assert "would re-key container metadata c1 (A -> B)" in out
    assert summary_counts(out)["would re-key"] == 8  # six objects, two containers' metadata
    assert container_meta_ids(raw, "c1") == {"Secret": "A", "Later": "B"}

    status, out, err = run_cli(capsys, "--config", conf, "--account", ACCOUNT,
                               "--container", "c2", "-v")
    assert status == 0, out + err
    assert out.splitlines()[0] == "re-keyed container metadata c2 (A -> B)"
    assert summary_counts(out)["re-keyed"] == 3  # and c2's two objects
    assert container_meta_ids(raw, "c1") == {"Secret": "A", "Later": "B"}

    status, out, err = run_cli(capsys, "--config", conf, "--account", ACCOUNT, "-v")
    assert status == 0, out + err
    assert "re-keyed container metadata c1 (A -> B)" in out
    assert "current container metadata c2" in out
    counts = summary_counts(out)
    assert (counts["scanned"], counts["already current"], counts["re-keyed"]) == (9, 4, 5)
    for cont in ("c1", "c2"):
        assert set(container_meta_ids(raw, cont).values()) == {"B"}

    only_b = setup.client(["B"], "B")
    for cont, value in values.items():
        resp = req(only_b, "HEAD", cont)
        assert resp.header("X-Container-Meta-Secret") == value
        assert resp.header("X-Container-Meta-Web-Index") == "i.html"
    assert req(only_b, "HEAD", "c1").header("X-Container-Meta-Later") == later
    assert found_in_files(setup.data_dir, list(values.values()) + [later]) == {}
    for value in values.values():
        assert value not in out + err

    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT)
    assert status == 0 and summary_counts(out)["re-keyed"] == 0
    assert summary_counts(out)["already current"] == 9


def test_concurrent_client_write_wins(setup):
    write_under_a(setup)
    client = setup.client(["A", "B"], "B")
    tool_app = loadapp("config:" + setup.rekey_conf())
    newer = b"the client's newer body"

    def client_put():
        resp = req(client, "PUT", "c1", "with-meta", body=newer,
                   headers=[("X-Object-Meta-Color", "red")])
        assert resp.status == 201

    rekeyer = run.Rekeyer(RaceFirst(tool_app, client_put), ACCOUNT)
    result = rekeyer.rekey_object("c1", "with-meta")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    got = req(client, "GET", "c1", "with-meta")
    assert got.data == newer and got.header("X-Object-Meta-Color") == "red"
    listing = json.loads(req(client, "GET", "c1", query="format=json&prefix=with-meta").data)
    assert listing[0]["hash"] == md5(newer)


def test_concurrent_client_delete_is_not_undone(setup):
    write_under_a(setup)
    client = setup.client(["A", "B"], "B")
    tool_app = loadapp("config:" + setup.rekey_conf())

    def client_delete():
        assert req(client, "DELETE", "c1", "plain").status == 204

    result = run.Rekeyer(RaceFirst(tool_app, client_delete), ACCOUNT).rekey_object(
        "c1", "plain")
    assert result.outcome == run.CONFLICT
    assert req(client, "HEAD", "c1", "plain").status == 404


def test_failures_are_one_line_and_exit_1(setup, capsys):
    write_under_a(setup)
    # a pipeline that lost secret A cannot read the old objects
    conf = setup.conf("lost-a.conf", ["B"], "B")
    status, out, err = run_cli(capsys, "--config", conf, "--account", ACCOUNT,
                               "--container", "c1")
    assert status == 1
    lines = err.splitlines()
    assert len(lines) == 4 and all(ln.startswith("error: failed c1/") for ln in lines), err
    for secret in SECRETS.values():
        assert base64.b64encode(secret).decode() not in out + err
    assert summary_counts(out)["failures"] == 4


def test_bad_config_exits_2_and_missing_container_1(setup, capsys):
    status, _, err = run_cli(capsys, "--config", str(setup.tmp / "nope.conf"),
                             "--account", ACCOUNT)
    # exit-code policy: a config that cannot be loaded is 2 (nothing done)
    assert status == 2 and len(err.splitlines()) == 1 and "nope.conf" in err
    write_under_a(setup)
    status, out, err = run_cli(capsys, "--config", setup.rekey_conf(), "--account", ACCOUNT,
                               "--container", "missing")
    assert status == 1 and "listing container missing failed: 404" in err


def test_the_standalone_sample_runs(setup, capsys):
    import configparser

    write_under_a(setup)
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "etc",
                          "rekey-standalone.conf-sample")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(sample)
    keymaster = parser["filter:keymaster"]
    del keymaster["keymaster_config_path"]  # (its ids would be lower-cased)
    for sid in ("A", "B"):
        keymaster["encryption_root_secret_" + sid] = base64.b64encode(SECRETS[sid]).decode()
    keymaster["active_root_secret_id"] = "B"
    parser["app:store"]["data_dir"] = setup.data_dir
    conf = setup.tmp / "from-sample.conf"
    with open(conf, "w") as fh:
        parser.write(fh)
    status, out, err = run_cli(capsys, "--config", str(conf), "--account", ACCOUNT)
    assert status == 0, out + err
    assert summary_counts(out)["re-keyed"] == 6


class Zeros:
    """A large request body produced chunk by chunk."""

    def __init__(self, size, chunk=64 * 1024):
        self.left = size
        self.chunk = chunk

    def read(self, size=-1):
        n = min(self.left, self.chunk if size is None or size < 0 else min(size, self.chunk))
        self.left -= n
        return b"\x5a" * n


def test_bodies_are_streamed(setup):
    import tracemalloc

    size = 48 * 1024 * 1024
    client = setup.client(["A"], "A")
    assert req(client, "PUT", "big").status == 201
    resp = call(client, "PUT", "/v1/%s/big/obj" % ACCOUNT, [("Content-Length", str(size))],
                body=Zeros(size))
    resp.close()
    assert resp.status == 201
    rekeyer = run.Rekeyer(loadapp("config:" + setup.rekey_conf()), ACCOUNT)
    tracemalloc.start()
    try:
        result = rekeyer.rekey_object("big", "obj")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.outcome == run.REKEYED, result.detail
    assert peak < 8 * 1024 * 1024, peak  # the body is 48 MiB
    got = call(setup.client(["B"], "B"), "GET", "/v1/%s/big/obj" % ACCOUNT)
    assert got.status == 200 and got.header("Etag").strip('"') == checksums.md5(
        b"\x5a" * size).hexdigest()
    got.close()


def marked(tag, size):
    """A recognisable text body of ``size`` bytes."""
    text = "".join("plaintext-%s-%d;" % (tag, i) for i in range(size // 10 + 1))
    return text[:size]


PLAIN = {
    # name: (body text, headers)
    "big": (marked("big", 3 * 65536 + 5), [("Content-Type", "application/x-big")]),
    "with-meta": (marked("meta", 900), [("X-Object-Meta-Color", "plain-colour-value"),
                                        ("X-Delete-At", str(int(time.time()) + 3600))]),
    "empty-meta": ("", [("X-Object-Meta-Tag", "plain-tag-of-empty")]),
    "empty": ("", []),
}
PLAIN_CONTAINER_META = "plain-container-secret-value"
PLAIN_ACCOUNT_META = "plain-account-secret-value"


def needles():
    """Text that must not be at rest once encrypted: body samples (start,
    middle, end) and metadata values."""
    out = [PLAIN_CONTAINER_META, PLAIN_ACCOUNT_META]
    for body, headers in PLAIN.values():
        if body:
            out += [body[:32], body[len(body) // 2:len(body) // 2 + 32], body[-32:]]
        out += [v for n, v in headers if n.startswith("X-Object-Meta-")]
    return out


def client_view(app):
    """What a client sees: each object's headers that must not change and
    body, the listing, and the container's and account's metadata."""
    view = {}
    for name in PLAIN:
        got = req(app, "GET", "c", name)
        assert got.status == 200, (name, got.reason)
        # (the store quotes a plain object's etag, the decrypter does not)
        view[name] = (got.data, {n.lower(): v.strip('"') for n, v in got.headers if n.lower() in (
            "etag", "content-type", "content-length", "last-modified", "x-delete-at")
            or n.lower().startswith("x-object-meta-")})
    view["listing"] = json.loads(req(app, "GET", "c", query="format=json").data)
    view["container"] = req(app, "HEAD", "c").header("X-Container-Meta-Secret")
    view["account"] = req(app, "HEAD").header("X-Account-Meta-Secret")
    return view


def vacuum(path):
    """What doc/rekey.md tells an operator to do to a DB after encrypting."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM",
                          "PRAGMA wal_checkpoint(TRUNCATE)"):
            conn.execute(statement)
    finally:
        conn.close()


def test_encrypt_plaintext_of_a_store_written_without_encryption(setup, capsys):
    """Objects and metadata written through a pipeline without encryption
    are encrypted by ``--encrypt-plaintext`` (the tool's encryption filter
    encrypting container and account metadata): the store's files hold no
    plaintext after (before: they did), an encrypting pipeline reads back
    everything as it was, and a second run has nothing to do."""
    plain = plain_pipeline(setup)
    assert req(plain, "PUT", "c", headers=[
        ("X-Container-Meta-Secret", PLAIN_CONTAINER_META),
        ("X-Container-Meta-Web-Index", "index.html")]).status in (201, 202)
    assert req(plain, "POST", headers=[("X-Account-Meta-Secret", PLAIN_ACCOUNT_META)]).status \
        == 204
    for name, (body, headers) in PLAIN.items():
        resp = req(plain, "PUT", "c", name, headers=headers, body=body.encode())
        assert resp.status == 201, (name, resp.data)
    before = client_view(plain)
    # control: the scan finds the plaintext that is there
    assert set(found_in_files(setup.data_dir, needles())) == set(needles())

    tool_conf = setup.conf("rekey-meta.conf", ["A", "B"], "B", encryption=(
        "encrypt_container_metadata = true", "encrypt_account_metadata = true"))
    status, out, err = run_cli(capsys, "--config", tool_conf, "--account", ACCOUNT, "-v",
                               "--dry-run", "--encrypt-plaintext")
    assert status == 0, out + err
    assert summary_counts(out)["would encrypt"] == 5, out  # 3 objects, 2 metadata sets
    assert set(found_in_files(setup.data_dir, needles())) == set(needles())

    status, out, err = run_cli(capsys, "--config", tool_conf, "--account", ACCOUNT, "-v",
                               "--encrypt-plaintext")
    assert status == 0, out + err
    for line in ("encrypted account metadata (plaintext -> B)",
                 "encrypted container metadata c (plaintext -> B)",
                 "encrypted c/big (plaintext -> B)", "encrypted c/empty-meta (plaintext -> B)",
                 "current c/empty"):
        assert line in out, out
    assert summary_counts(out) == {"scanned": 6, "already current": 1, "re-keyed": 0,
                                   "conflicts": 0, "failures": 0, "unencrypted": 0,
                                   "expired": 0, "encrypted": 5}, out
    # The object files hold none; the listing DB may still, in pages its
    # metadata rows left (WAL, free pages) until it is vacuumed (doc/rekey.md)
    leftover = found_in_files(setup.data_dir, needles())
    assert {os.path.basename(p) for paths in leftover.values() for p in paths} <= {
        "listing.db", "listing.db-wal"}, leftover
    assert set(leftover) <= {PLAIN_CONTAINER_META, PLAIN_ACCOUNT_META}
    vacuum(os.path.join(setup.data_dir, "listing.db"))
    assert found_in_files(setup.data_dir, needles()) == {}
    for value in needles():
        assert value not in out + err

    only_b = setup.client(["B"], "B", encrypt_meta=True)
    after = client_view(only_b)
    for key in before:
        assert after[key] == before[key], key
    assert req(only_b, "HEAD", "c").header("X-Container-Meta-Web-Index") == "index.html"
    raw = setup.internal(["B"], "B")
    for name in ("big", "with-meta", "empty-meta"):
        assert raw_ids(raw, "c", name) == {"B"}, name

    status, out, _ = run_cli(capsys, "--config", tool_conf, "--account", ACCOUNT,
                             "--encrypt-plaintext")
    assert status == 0
    counts = summary_counts(out)
    assert (counts["encrypted"], counts["already current"]) == (0, 6), out


def test_without_the_flag_plaintext_is_left_alone(setup, capsys):
    conf = setup.conf("rekey-meta.conf", ["A", "B"], "B", encryption=(
        "encrypt_container_metadata = true",))
    client = setup.client(["A"], "A")
    assert req(client, "PUT", "c").status in (201, 202)
    store_plain = setup.tmp / "p.conf"
    store_plain.write_text("[app:main]\nuse = egg:swiftcrypt#store\ndata_dir = %s\n"
                           % setup.data_dir)
    plain = loadapp("config:" + str(store_plain))
    body = marked("unflagged", 500)
    assert req(plain, "PUT", "c", "o", body=body.encode()).status == 201
    status, out, _ = run_cli(capsys, "--config", conf, "--account", ACCOUNT, "-v")
    assert status == 0
    assert "unencrypted c/o" in out and "encrypt" not in out.splitlines()[-1].replace(
        "unencrypted", "")
    assert found_in_files(setup.data_dir, [body[:32]])


STORED_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"), ("Content-Disposition", "attachment"),
    ("Content-Encoding", "gzip"), ("Content-Language", "fr"),
    ("Cache-Control", "max-age=60"), ("Expires", "Wed, 21 Oct 2037 07:28:00 GMT"),
    ("X-Robots-Tag", "noindex"), ("X-Object-Meta-Kept", "yes"),
]


def plain_pipeline(setup):
    """A client pipeline without encryption, as before it was enabled."""
    conf = setup.tmp / "plain-client.conf"
    conf.write_text("\n".join([
        "[pipeline:main]", "pipeline = gatekeeper store", "",
        "[filter:gatekeeper]",
        "paste.filter_factory = swiftcrypt.store.gatekeeper:filter_factory", "",
        "[app:store]", "use = egg:swiftcrypt#store", "data_dir = %s" % setup.data_dir, ""]))
    return loadapp("config:" + str(conf))


@pytest.mark.parametrize("plain", [False, True], ids=["re-key", "encrypt-plaintext"])
def test_a_rewrite_keeps_every_stored_header(setup, capsys, plain):
    """Content-Disposition, Content-Encoding and the other headers the
    store keeps (Swift's default allowed_headers) survive a rewrite, as do
    Last-Modified and the body."""
    body = b"\x1f\x8b stored as sent " * 20
    writer = plain_pipeline(setup) if plain else setup.client(["A"], "A")
    assert req(writer, "PUT", "c").status in (201, 202)
    assert req(writer, "PUT", "c", "o", headers=STORED_HEADERS, body=body).status == 201
    before = dict(req(writer, "HEAD", "c", "o").headers)
    status, out, err = run_cli(capsys, "--config", setup.rekey_conf(), "--account", ACCOUNT,
                               "--container", "c", "-v",
                               *(["--encrypt-plaintext"] if plain else []))
    assert status == 0 and ("encrypted c/o" if plain else "re-keyed c/o") in out, out + err
    assert raw_ids(setup.internal(["B"], "B"), "c", "o") == {"B"}
    got = req(setup.client(["B"], "B"), "GET", "c", "o")
    assert got.data == body
    for name, value in STORED_HEADERS:
        assert got.header(name) == value, name
    assert got.header("Last-Modified") == before["Last-Modified"]
