"""``swiftcrypt rekey`` against the real Swift cluster: objects written
under root secret A - plain, with metadata, empty, expiring, an SLO
manifest and its segments, a DLO, a symlink - are rewritten under B
through etc/rekey-swift.conf-sample, after which Swift's own encryption
holding only B reads all of them; a second run has nothing to do; a
client write racing the tool wins."""

import base64
import configparser
import io
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import swiftclient

from tests.integration.swift.conftest import make_body
from tests.integration.swift_cluster import CUSTOM_ALLOWED_HEADER, Crypto, current_user
from tests.support.racing import RaceFirst
from swiftcrypt.common import checksums

SECRETS = {"A": os.urandom(32), "B": os.urandom(32)}
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc",
                      "rekey-swift.conf-sample")


def md5(data):
    return checksums.md5(data).hexdigest()


def swiftcrypt_with(ids, active):
    return Crypto("swiftcrypt", "swiftcrypt", secrets={i: SECRETS[i] for i in ids},
                  active=active)


def admin_conn(cluster, account):
    """A connection to any ``account`` as the reseller admin."""
    url, token = cluster.auth("admin", "admin")
    url = url.rsplit("/", 1)[0] + "/" + account
    return swiftclient.Connection(preauthurl=url, preauthtoken=token, retries=0, timeout=60)


def rekey_conf(cluster, path, secrets=None, active="B"):
    """etc/rekey-swift.conf-sample pointed at this cluster, with ``secrets``
    ({secret id: bytes}, default A and B) and ``active`` the active id."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(SAMPLE)
    parser["DEFAULT"]["swift_dir"] = cluster.etc
    parser["DEFAULT"]["user"] = current_user()
    parser["filter:cache"]["memcache_servers"] = cluster.memcache_servers()
    keymaster = parser["filter:keymaster"]
    del keymaster["keymaster_config_path"]
    keymaster.update(Crypto("swiftcrypt", "swiftcrypt", SECRETS if secrets is None else secrets,
                            active=active).keymaster_options())
    with open(path, "w") as fh:
        parser.write(fh)
    os.chmod(path, 0o600)
    return str(path)


def run_rekey(conf, account, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "swiftcrypt.cli", "rekey", "--config", conf,
         "--account", account, "--verbose", *extra],
        capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def counts_of(out):
    line = [ln for ln in out.splitlines() if "scanned" in ln][-1]
    return {k: int(v) for k, v in (item.rsplit(" ", 1)
                                   for item in line.split(": ", 1)[1].split(", "))}


class Objects:
    """What the test writes under A, and what it must read back."""

    def __init__(self, plaintexts):
        self.cont = "main"
        self.segs = "segments"
        self.plain = plaintexts.body(make_body("rekey-plain", 70000))
        self.meta_body = plaintexts.body(make_body("rekey-meta", 3000))
        self.meta = {"X-Object-Meta-Color": plaintexts.meta("rekey-colour-blue"),
                     "X-Object-Meta-Word": plaintexts.meta("rekey-h\u00e9llo-w\u00f6rld")}
        self.expiring = plaintexts.body(make_body("rekey-expiring", 500))
        self.delete_at = str(int(time.time()) + 7200)
        self.seg_bodies = [plaintexts.body(make_body("rekey-seg%d" % i, 40000 + i))
                           for i in range(3)]
        self.slo_body = b"".join(self.seg_bodies)
        self.dlo_body = b"".join(self.seg_bodies[:2])
        self.unicode_name = "d\u00efr/\u00fcni c\u00f6d\u00e9"
        self.unicode_body = plaintexts.body(make_body("rekey-unicode", 1234))
        self.posted_body = plaintexts.body(make_body("rekey-posted", 999))
        self.posted_meta = {"X-Object-Meta-After": plaintexts.meta("rekey-posted-meta-value")}

    def write(self, conn):
        for cont in (self.cont, self.segs):
            conn.put_container(cont)
        conn.put_object(self.cont, "plain", self.plain, content_type="application/x-plain")
        conn.put_object(self.cont, "with-meta", self.meta_body, headers=self.meta)
        conn.put_object(self.cont, "empty", b"")
        conn.put_object(self.cont, "empty-meta", b"", headers={"X-Object-Meta-Tag": "zero"})
        conn.put_object(self.cont, "expiring", self.expiring,
                        headers={"X-Delete-At": self.delete_at})
        for i, body in enumerate(self.seg_bodies):
            conn.put_object(self.segs, "slo/%d" % i, body)
        manifest = [{"path": "/%s/slo/%d" % (self.segs, i), "etag": md5(b),
                     "size_bytes": len(b)} for i, b in enumerate(self.seg_bodies)]
        conn.put_object(self.cont, "slo", json.dumps(manifest),
                        query_string="multipart-manifest=put",
                        content_type="application/x-slo")
        for i, body in enumerate(self.seg_bodies[:2]):
            conn.put_object(self.segs, "dlo/%d" % i, body)
        conn.put_object(self.cont, "dlo", b"",
                        headers={"X-Object-Manifest": "%s/dlo/" % self.segs})
        conn.put_object(self.cont, "link", b"",
                        headers={"X-Symlink-Target": "%s/with-meta" % self.cont})
        conn.put_object(self.cont, self.unicode_name, self.unicode_body)
        conn.put_object(self.cont, "posted", self.posted_body,
                        headers={"X-Object-Meta-Before": "replaced by the POST"})
        conn.post_object(self.cont, "posted", headers=self.posted_meta)

    def listing(self, conn, cont):
        return {e["name"]: e for e in conn.get_container(cont, full_listing=True)[1]}

    def check(self, conn):
        """Everything reads as written (``conn`` through some pipeline)."""
        c = self.cont
        hdrs, body = conn.get_object(c, "plain")
        assert body == self.plain and hdrs["content-type"] == "application/x-plain"
        assert hdrs["etag"] == md5(self.plain)
        hdrs, body = conn.get_object(c, "with-meta")
        assert body == self.meta_body
        for name, value in self.meta.items():
            assert hdrs[name.lower()] == value
        assert conn.get_object(c, "empty")[1] == b""
        assert conn.head_object(c, "empty-meta")["x-object-meta-tag"] == "zero"
        hdrs, body = conn.get_object(c, "expiring")
        assert body == self.expiring and hdrs["x-delete-at"] == self.delete_at
        hdrs, body = conn.get_object(c, "slo")
        assert body == self.slo_body and hdrs["x-static-large-object"] == "True"
        assert hdrs["content-type"] == "application/x-slo"
        manifest = json.loads(conn.get_object(c, "slo", query_string="multipart-manifest=get")[1])
        assert [seg["name"] for seg in manifest] == [
            "/%s/slo/%d" % (self.segs, i) for i in range(3)]
        hdrs, body = conn.get_object(c, "dlo")
        assert body == self.dlo_body and hdrs["x-object-manifest"] == "%s/dlo/" % self.segs
        hdrs, body = conn.get_object(c, "link")
        assert body == self.meta_body
        hdrs = conn.head_object(c, "link", query_string="symlink=get")
        assert hdrs["x-symlink-target"] == "%s/with-meta" % c
        assert conn.get_object(c, self.unicode_name)[1] == self.unicode_body
        hdrs, body = conn.get_object(c, "posted")
        assert body == self.posted_body and "x-object-meta-before" not in hdrs
        assert hdrs["x-object-meta-after"] == self.posted_meta["X-Object-Meta-After"]
        listing = self.listing(conn, c)
        for name, body in (("plain", self.plain), ("with-meta", self.meta_body),
                           ("expiring", self.expiring), ("dlo", b""), ("empty", b"")):
            assert listing[name]["hash"] == md5(body), name
        assert listing["slo"]["bytes"] == len(self.slo_body)
        assert listing["slo"]["slo_etag"] == '"%s"' % md5(
            "".join(md5(b) for b in self.seg_bodies).encode())
        assert listing["link"]["symlink_path"].endswith("/%s/with-meta" % c)
        segs = self.listing(conn, self.segs)
        for i, body in enumerate(self.seg_bodies):
            assert segs["slo/%d" % i]["hash"] == md5(body)


@pytest.fixture
def account():
    return "AUTH_rekey%s" % uuid.uuid4().hex[:10]


def test_rekey_swift_cluster(cluster, plaintexts, account, tmp_path):
    objects = Objects(plaintexts)
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    objects.write(conn)
    objects.check(conn)

    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conn = admin_conn(cluster, account)
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    counts = counts_of(out)
    # 'empty' and 'dlo' (an empty manifest) have nothing encrypted
    assert counts == {"scanned": 15, "already current": 2, "re-keyed": 13, "conflicts": 0,
                      "failures": 0, "unencrypted": 0, "expired": 0}, out
    assert "re-keyed main/slo (A -> B)" in out
    for secret in SECRETS.values():
        assert base64.b64encode(secret).decode() not in out + err

    # Swift's own keymaster and encryption, holding only B, read everything
    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    objects.check(admin_conn(cluster, account))

    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    assert counts_of(out)["re-keyed"] == 0 and counts_of(out)["already current"] == 15


def test_rekey_conflict_keeps_the_client_write(cluster, plaintexts, account, tmp_path):
    from swiftcrypt.rekey import run
    from swiftcrypt.cli.rekey import load_pipeline

    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    conn.put_container("c")
    conn.put_object("c", "raced", plaintexts.body(make_body("rekey-race-old", 5000)))
    conn.put_object("c", "deleted", plaintexts.body(make_body("rekey-race-del", 5000)))
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conn = admin_conn(cluster, account)
    newer = plaintexts.body(make_body("rekey-race-newer", 6000))
    app = load_pipeline(rekey_conf(cluster, tmp_path / "rekey.conf"))

    def client_put():
        conn.put_object("c", "raced", io.BytesIO(newer), content_length=len(newer),
                        headers={"X-Object-Meta-Who": "client"})

    result = run.Rekeyer(RaceFirst(app, client_put), account).rekey_object("c", "raced")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    hdrs, body = conn.get_object("c", "raced")
    assert body == newer and hdrs["x-object-meta-who"] == "client"

    result = run.Rekeyer(RaceFirst(app, lambda: conn.delete_object("c", "deleted")),
                              account).rekey_object("c", "deleted")
    assert result.outcome == run.CONFLICT
    with pytest.raises(swiftclient.ClientException) as caught:
        conn.head_object("c", "deleted")
    assert caught.value.http_status == 404


def versions(conn, cont):
    return [(e["name"], e["version_id"], e["hash"])
            for e in conn.get_container(cont, query_string="versions")[1]]


def test_rekey_versioned_container_makes_no_new_versions(cluster, plaintexts, account,
                                                         tmp_path):
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    conn.put_container("vers", headers={"X-Versions-Enabled": "true"})
    old = plaintexts.body(make_body("rekey-version-old", 3000))
    new = plaintexts.body(make_body("rekey-version-new", 4000))
    conn.put_object("vers", "doc", old)
    conn.put_object("vers", "doc", new)
    before = versions(conn, "vers")
    assert [h for _n, _v, h in before] == [md5(new), md5(old)]

    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    status, out, err = run_rekey(rekey_conf(cluster, tmp_path / "rekey.conf"), account)
    assert status == 0, out + err
    # the link in 'vers' and both versions in the hidden container
    assert counts_of(out)["re-keyed"] == 3 and counts_of(out)["failures"] == 0, out

    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    conn = admin_conn(cluster, account)
    assert versions(conn, "vers") == before
    assert conn.get_object("vers", "doc")[1] == new
    old_id = before[1][1]
    assert conn.get_object("vers", "doc", query_string="version-id=" + old_id)[1] == old


def test_rekey_with_swifts_own_keymaster_in_the_tool(cluster, plaintexts, account, tmp_path):
    """The tool's pipeline may hold Swift's keymaster: the active id comes
    from the keys callback either way."""
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    conn.put_container("c")
    body = plaintexts.body(make_body("rekey-swift-keymaster", 2500))
    conn.put_object("c", "o", body, headers={"X-Object-Meta-M": "v"})
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(conf)
    parser["filter:keymaster"]["use"] = "egg:swift#keymaster"
    with open(conf, "w") as fh:
        parser.write(fh)
    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    assert "re-keyed c/o (A -> B)" in out

    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    hdrs, got = admin_conn(cluster, account).get_object("c", "o")
    assert got == body and hdrs["x-object-meta-m"] == "v"


def test_rewrites_keep_the_object_servers_allowed_headers(cluster, account, tmp_path):
    """Headers Swift's object server keeps (its allowed_headers: the
    defaults and one of the operator's own) survive a re-key and an
    --encrypt-plaintext rewrite, as do Last-Modified and the body."""
    kept = {"Content-Disposition": "attachment; filename=x.txt", "Content-Encoding": "gzip",
            "Content-Language": "fr", "Cache-Control": "max-age=60",
            "Expires": "Wed, 21 Oct 2037 07:28:00 GMT", "X-Robots-Tag": "noindex",
            CUSTOM_ALLOWED_HEADER: "operator's own", "X-Object-Meta-M": "v"}
    body = b"kept headers body " * 100
    cluster.use(Crypto())  # "plain" written before encryption was enabled
    conn = admin_conn(cluster, account)
    conn.put_container("c")
    conn.put_object("c", "plain", body, headers=kept)
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    conn.put_object("c", "stale", body, headers=kept)
    before = {name: conn.head_object("c", name) for name in ("plain", "stale")}
    for name in before:
        assert before[name][CUSTOM_ALLOWED_HEADER.lower()] == "operator's own"

    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(conf, account, "--encrypt-plaintext")
    assert status == 0, out + err
    assert "re-keyed c/stale (A -> B)" in out and "encrypted c/plain (plaintext -> B)" in out

    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    conn = admin_conn(cluster, account)
    for name in ("plain", "stale"):
        hdrs, got = conn.get_object("c", name)
        assert got == body, name
        for header, value in kept.items():
            assert hdrs[header.lower()] == value, (name, header)
        assert hdrs["last-modified"] == before[name]["last-modified"], name


def test_rekey_re_encrypts_account_metadata(cluster, account, tmp_path):
    """Account metadata encrypted under A is re-encrypted under B as
    sysmeta by the tool (whose pipeline does not encrypt account metadata:
    it must never write the plaintext), after which a proxy holding only B
    reads it."""
    option = {"encrypt_account_metadata": "true"}
    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={"A": SECRETS["A"]}, active="A",
                       encryption_options=option))
    value = "rekey-account-meta-" + uuid.uuid4().hex
    admin_conn(cluster, account).post_account({"X-Account-Meta-Secret": value,
                                               "X-Account-Meta-Temp-Url-Key": "plain"})

    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    assert "re-keyed account metadata (A -> B)" in out
    assert counts_of(out)["re-keyed"] == 1
    assert value not in out + err

    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={"B": SECRETS["B"]}, active="B"))
    headers = admin_conn(cluster, account).head_account()
    assert headers["x-account-meta-secret"] == value
    assert headers["x-account-meta-temp-url-key"] == "plain"
    status, out, err = run_rekey(conf, account)
    assert status == 0 and "current account metadata" in out, out + err


def test_rekey_re_encrypts_container_metadata(cluster, account, tmp_path):
    """Container metadata encrypted under A (one value under B already
    after the rotation, one container with a non-ASCII name) is
    re-encrypted under B by the tool through Swift's proxy app in-process
    (whose pipeline does not encrypt container metadata: it must never
    write the plaintext), after which a proxy holding only B reads every
    value and a second run finds nothing to do."""
    from tests.integration.swift.conftest import db_bytes

    option = {"encrypt_container_metadata": "true"}
    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={"A": SECRETS["A"]}, active="A",
                       encryption_options=option))
    conn = admin_conn(cluster, account)
    values = {cont: "rekey-container-meta-" + uuid.uuid4().hex
              for cont in ("m1", "m2", "m\u00e9ta")}
    for cont, value in values.items():
        conn.put_container(cont, headers={"X-Container-Meta-Secret": value,
                                          "X-Container-Meta-Web-Index": "index.html"})
    conn.put_object("m1", "o", b"an object beside the metadata")
    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={i: SECRETS[i] for i in "AB"},
                       active="B", encryption_options=option))
    later = "rekey-container-meta-later-" + uuid.uuid4().hex
    admin_conn(cluster, account).post_container("m2", {"X-Container-Meta-Later": later})

    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    for cont in ("m1", "m2", "m%C3%A9ta"):
        assert "re-keyed container metadata %s (A -> B)" % cont in out, out
    assert "re-keyed m1/o (A -> B)" in out
    assert counts_of(out)["re-keyed"] == 4
    for value in list(values.values()) + [later]:
        assert value not in out + err

    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={"B": SECRETS["B"]}, active="B"))
    conn = admin_conn(cluster, account)
    for cont, value in values.items():
        headers = conn.head_container(cont)
        assert headers["x-container-meta-secret"] == value, cont
        assert headers["x-container-meta-web-index"] == "index.html"
    assert conn.head_container("m2")["x-container-meta-later"] == later
    stored = db_bytes(cluster, "container")
    for value in list(values.values()) + [later]:
        assert value.encode() not in stored

    status, out, err = run_rekey(conf, account)
    assert status == 0, out + err
    assert counts_of(out)["re-keyed"] == 0 and counts_of(out)["already current"] == 4, out
    assert "current container metadata m2" in out


VISIBLE = ("etag", "content-type", "content-length", "last-modified", "x-timestamp",
           "x-delete-at", "x-static-large-object", "x-object-manifest", "x-symlink-target")


def visible_state(conn, objects):
    """What clients see of every object of ``objects``' two containers: the
    listing entries and each HEAD's headers that must not change (a
    symlink's own, not its target's)."""
    state = {}
    for cont in (objects.cont, objects.segs):
        for name, entry in objects.listing(conn, cont).items():
            hdrs = conn.head_object(cont, name, query_string="symlink=get")
            state[cont, name] = (entry, {k: v for k, v in hdrs.items()
                                         if k in VISIBLE or k.startswith("x-object-meta-")})
    return state


def plaintext_at_rest(cluster, account, plaintexts):
    """Problems found in the account's object files (.data, .meta): a
    plaintext body sample or metadata value in the file or its xattrs, a
    plain user metadata header, a body stored without crypto meta."""
    from tests.integration.swift import at_rest
    from tests.integration.swift.test_zz_at_rest import forms, pickled_items, samples

    needles = set()
    for body in plaintexts.bodies:
        needles |= samples(body)
    for value in plaintexts.meta_values:
        needles |= forms(value)
    assert needles
    problems = []
    for path in cluster.object_meta_files():
        raw = at_rest.raw_metadata(path)
        meta = at_rest.metadata(path) if raw else {}
        if not meta.get("name", "").startswith("/%s/" % account):
            continue
        with open(path, "rb") as fh:
            stored = [fh.read(), b"".join(cluster.raw_xattrs(path).values())]
        stored += pickled_items(raw)
        if any(needle in blob for needle in needles for blob in stored):
            problems.append("%s: plaintext" % meta["name"])
        if any(k.lower().startswith("x-object-meta-") and v for k, v in meta.items()):
            problems.append("%s: plain user metadata" % meta["name"])
        if path.endswith(".data") and int(meta.get("Content-Length", "0")) > 0 \
                and "X-Object-Sysmeta-Crypto-Body-Meta" not in meta:
            problems.append("%s: body without crypto meta" % meta["name"])
    return problems


def test_encrypt_plaintext_swift_cluster(cluster, account, tmp_path):
    """Objects written through a proxy with no encryption - an object larger
    than one chunk, metadata, 0-byte ones, X-Delete-At, an SLO and its
    segments, a DLO, a symlink, a POST - are encrypted under B by the CLI
    with --encrypt-plaintext; Swift's own encryption holding only B then
    reads everything as clients saw it before, nothing plaintext is left in
    their object files, and a second run has nothing to do."""
    from tests.integration.swift.conftest import Plaintexts

    # not the session's register: the plaintext is meant to be at rest at first
    plaintexts = Plaintexts()
    objects = Objects(plaintexts)
    objects.plain = plaintexts.body(make_body("encrypt-big", 3 * 65536 + 11))
    cluster.use(Crypto())  # no keymaster, no encryption
    conn = admin_conn(cluster, account)
    objects.write(conn)
    objects.check(conn)
    before = visible_state(conn, objects)
    # control: the scan sees the plaintext that is there
    problems = plaintext_at_rest(cluster, account, plaintexts)
    assert any("plaintext" in p for p in problems) and any(
        "without crypto meta" in p for p in problems), problems

    # encryption on at the proxies first, then the tool
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(conf, account, "--dry-run", "--encrypt-plaintext")
    assert status == 0, out + err
    assert counts_of(out)["would encrypt"] == 13, out
    assert plaintext_at_rest(cluster, account, plaintexts) == problems

    status, out, err = run_rekey(conf, account, "--encrypt-plaintext")
    assert status == 0, out + err
    counts = counts_of(out)
    # 'empty' and 'dlo' (an empty manifest) have nothing to encrypt
    assert counts == {"scanned": 15, "already current": 2, "re-keyed": 0, "conflicts": 0,
                      "failures": 0, "unencrypted": 0, "expired": 0, "encrypted": 13}, out
    for line in ("encrypted main/slo (plaintext -> B)", "encrypted main/link (plaintext -> B)",
                 "encrypted segments/slo/0 (plaintext -> B)",
                 "encrypted main/empty-meta (plaintext -> B)", "current main/dlo"):
        assert line in out, out
    assert plaintext_at_rest(cluster, account, plaintexts) == []

    # Swift's own keymaster and encryption, holding only B, read everything
    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    conn = admin_conn(cluster, account)
    objects.check(conn)
    assert visible_state(conn, objects) == before

    status, out, err = run_rekey(conf, account, "--encrypt-plaintext")
    assert status == 0, out + err
    assert counts_of(out)["encrypted"] == 0 and counts_of(out)["already current"] == 15


def test_encrypt_plaintext_conflict_keeps_the_client_write(cluster, account, tmp_path):
    from swiftcrypt.rekey import run
    from swiftcrypt.cli.rekey import load_pipeline
    from tests.integration.swift.conftest import Plaintexts

    plaintexts = Plaintexts()
    cluster.use(Crypto())
    conn = admin_conn(cluster, account)
    conn.put_container("c")
    conn.put_object("c", "raced", plaintexts.body(make_body("encrypt-race-old", 5000)))
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conn = admin_conn(cluster, account)
    newer = make_body("encrypt-race-newer", 6000)
    app = load_pipeline(rekey_conf(cluster, tmp_path / "rekey.conf"))

    def client_put():
        conn.put_object("c", "raced", io.BytesIO(newer), content_length=len(newer))

    result = run.Rekeyer(RaceFirst(app, client_put), account,
                              encrypt_plaintext=True).rekey_object("c", "raced")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    assert conn.get_object("c", "raced")[1] == newer


def test_encrypt_plaintext_account_and_container_metadata(cluster, account, tmp_path):
    """Plain account and container metadata written through a proxy with
    no encryption is encrypted by the tool whose encryption filter has the
    metadata options on (names Swift reads stay plain); a swiftcrypt proxy
    holding only B reads the same values; a second run has nothing to do."""
    from swiftcrypt.rekey import plan
    from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
    from swiftcrypt.cli.rekey import load_pipeline
    from swiftcrypt.common.wsgiclient import call

    cluster.use(Crypto())
    conn = admin_conn(cluster, account)
    values = {"account": "plain-account-meta-" + uuid.uuid4().hex,
              "container": "plain-container-meta-" + uuid.uuid4().hex}
    conn.post_account({"X-Account-Meta-Secret": values["account"],
                       "X-Account-Meta-Temp-Url-Key": "plain-key",
                       "X-Account-Meta-Quota-Bytes": "10000000"})
    conn.put_container("m", headers={"X-Container-Meta-Secret": values["container"],
                                     "X-Container-Meta-Web-Index": "index.html"})
    options = {"encrypt_account_metadata": "true", "encrypt_container_metadata": "true"}
    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={i: SECRETS[i] for i in "AB"},
                       active="B", encryption_options=options))
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(conf)
    parser["filter:encryption"].update(options)
    with open(conf, "w") as fh:
        parser.write(fh)

    status, out, err = run_rekey(conf, account, "--encrypt-plaintext")
    assert status == 0, out + err
    assert "encrypted account metadata (plaintext -> B)" in out, out
    assert "encrypted container metadata m (plaintext -> B)" in out, out
    assert counts_of(out)["encrypted"] == 2
    assert not any(value in out + err for value in values.values())

    # as stored: encrypted under B, no plain copy; the names Swift reads plain
    app = load_pipeline(conf)
    # (Swift's proxy shows temp-url-keys only to an owner: Quota-Bytes here)
    for level, path, plain_name in ((ACCOUNT, "/v1/" + account, "Quota-Bytes"),
                                    (CONTAINER, "/v1/%s/m" % account, "Web-Index")):
        raw = call(app, "HEAD", path, [("X-Backend-Allow-Reserved-Names", "true")],
                   environ={"swift.crypto.override": True})
        raw.close()
        assert plan.meta_secret_ids(raw.headers, level.crypto_prefix) == {
            level.crypto_prefix + "Secret": "B"}
        assert raw.header(level.user_prefix + "Secret") is None
        assert raw.header(level.user_prefix + plain_name)

    cluster.use(Crypto("swiftcrypt", "swiftcrypt", secrets={"B": SECRETS["B"]}, active="B",
                       encryption_options=options))
    conn = admin_conn(cluster, account)
    assert conn.head_account()["x-account-meta-secret"] == values["account"]
    assert conn.head_account()["x-account-meta-temp-url-key"] == "plain-key"
    headers = conn.head_container("m")
    assert headers["x-container-meta-secret"] == values["container"]
    assert headers["x-container-meta-web-index"] == "index.html"

    status, out, err = run_rekey(conf, account, "--encrypt-plaintext")
    assert status == 0, out + err
    assert counts_of(out)["encrypted"] == 0 and "current container metadata m" in out
