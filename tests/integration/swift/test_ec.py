"""swiftcrypt on an erasure-coded storage policy of the real cluster.

Swift's proxy treats EC objects apart: it splits the (cipher)text into
segments and fragment archives, sends footers to each object server as a
MIME document, checks the client's Etag itself and serves ranges by
decoding whole segments. Here, on containers of the cluster's ``ec``
policy (2 data + 1 parity fragments, ``EC_SEGMENT_SIZE`` segments):
round trips of 0 bytes to several segments, single and multi ranges,
conditional requests, metadata, a refused Etag, SLO, copies, versions,
no plaintext in the fragment archives, verify_body against a tampered
fragment, interchange with Swift's own encryption both ways, and
``swiftcrypt rekey`` of an account whose objects are erasure coded.
"""

import base64
import json
import os
import subprocess
import uuid

import pytest
import requests

from tests.integration.swift import at_rest
from tests.integration.swift.ranges import assert_multi_range, assert_single_ranges
from tests.integration.swift.conftest import (
    Http, connect, make_body, swift_crypto, swiftcrypt_crypto, unique)
from tests.integration.swift.test_rekey import (
    SECRETS, admin_conn, rekey_conf, swiftcrypt_with)
from tests.integration.swift_cluster import (
    EC_DEVICES, EC_POLICY_INDEX, EC_POLICY_NAME, EC_SEGMENT_SIZE, Crypto, use_swift_conf)
from tests.support.racing import RaceFirst
from tests.support.rekeying import summary_counts
from swiftcrypt.common import checksums

SEG = EC_SEGMENT_SIZE
# 0 bytes, less than an AES block, small, exactly one segment, and several
# segments with a partial last one
SIZES = (0, 13, 1000, SEG, 3 * SEG + 12345)
FRAGMENTS = len(EC_DEVICES)  # one fragment archive per device
MAKE = {"swift": swift_crypto, "swiftcrypt": swiftcrypt_crypto}


def md5(data):
    return checksums.md5(data).hexdigest()


def make_ec_container(conn, prefix="ec"):
    name = unique(prefix)
    conn.put_container(name, headers={"X-Storage-Policy": EC_POLICY_NAME})
    assert conn.head_container(name)["x-storage-policy"] == EC_POLICY_NAME
    return name


@pytest.fixture
def ec_container(conn):
    return make_ec_container(conn)


def fragment_archives(cluster, name):
    """The .data files of object path ``name``, all in the EC policy's dirs."""
    found = [s for s in at_rest.stored_objects(cluster) if s.name == name]
    for stored in found:
        assert os.sep + "objects-%d" % EC_POLICY_INDEX + os.sep in stored.path, stored.path
    return found


def assert_erasure_coded(cluster, name, size):
    """``name`` is stored as one fragment archive per device, each with
    the crypto footers Swift's proxy passed on."""
    archives = fragment_archives(cluster, name)
    assert sorted(s.header("X-Object-Sysmeta-Ec-Frag-Index") for s in archives) == [
        str(i) for i in range(FRAGMENTS)]
    for stored in archives:
        assert stored.header("X-Object-Sysmeta-Ec-Content-Length") == str(size)
        if size:
            assert stored.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")["cipher"] == \
                "AES_CTR_256"
        assert stored.header("Etag") == md5(stored.body)


# -------------------------------------------------------------- round trips

@pytest.mark.parametrize("size", SIZES)
def test_round_trip(cluster, conn, ec_container, plaintexts, size):
    body = plaintexts.body(make_body("ec-round-trip-%d" % size, size))
    assert conn.put_object(ec_container, "o", body, etag=md5(body)) == md5(body)
    headers, got = conn.get_object(ec_container, "o")
    assert got == body
    assert headers["etag"] == md5(body)
    assert headers["content-length"] == str(size)
    head = conn.head_object(ec_container, "o")
    assert head["etag"] == md5(body) and head["content-length"] == str(size)
    assert not [h for h in headers if "crypto" in h]
    listing = conn.get_container(ec_container)[1]
    assert [(e["name"], e["hash"], e["bytes"]) for e in listing] == [("o", md5(body), size)]
    assert_erasure_coded(cluster, "/AUTH_test/%s/o" % ec_container, size)


def test_chunked_put_of_several_segments(conn, ec_container, plaintexts):
    body = plaintexts.body(make_body("ec-chunked", 2 * SEG + 999))
    chunks = (body[i:i + 10000] for i in range(0, len(body), 10000))
    assert conn.put_object(ec_container, "chunked", chunks) == md5(body)
    headers, got = conn.get_object(ec_container, "chunked")
    assert got == body and headers["etag"] == md5(body)


# ------------------------------------------------------------------ ranges

RANGED_SIZE = 3 * SEG + 12345


@pytest.fixture
def ranged(http, ec_container, plaintexts):
    body = plaintexts.body(make_body("ec-ranges", RANGED_SIZE))
    assert http.request("PUT", ec_container, "r", data=body).status_code == 201
    return http, ec_container, body


def test_single_ranges(ranged):
    http, cont, body = ranged
    size = len(body)
    cases = [
        ("0-0", 0, 0), ("0-15", 0, 15),
        ("5-20", 5, 20), ("17-33", 17, 33),  # starting inside an AES block
        ("1000-1999", 1000, 1999),  # inside the first segment
        ("%d-%d" % (SEG - 7, SEG + 8), SEG - 7, SEG + 8),  # across a segment boundary
        ("%d-%d" % (SEG, 2 * SEG - 1), SEG, 2 * SEG - 1),  # exactly the second segment
        ("%d-%d" % (SEG + 3, 3 * SEG + 100), SEG + 3, 3 * SEG + 100),  # three segments
        ("%d-" % (3 * SEG + 1), 3 * SEG + 1, size - 1),  # within the partial last one
        ("-1", size - 1, size - 1), ("-33", size - 33, size - 1),
        ("-%d" % (SEG + 12345 + 9), size - SEG - 12345 - 9, size - 1),  # suffix over two
        ("%d-%d" % (size - 10, size + 5000), size - 10, size - 1),  # past the end
        ("0-", 0, size - 1),
    ]
    assert_single_ranges(http, cont, "r", body, cases)


# (first, last), None for the 7-byte suffix. Swift's EC proxy answers 416
# when the segment-aligned ranges it asks the object servers for overlap
# too much (swob's limit), with or without encryption: these two sets stay
# under it.
MULTI_RANGES = (
    # starting inside an AES block, across a segment boundary, in a later segment
    [(17, 40), (SEG - 5, SEG + 5), (2 * SEG + 1, 2 * SEG + 100)],
    # with a suffix range in the partial last segment
    [(17, 40), (SEG + 100, SEG + 200), (2 * SEG + 1, 2 * SEG + 100), None],
)
REFUSED_BY_SWIFT_ON_EC = "0-9,17-40,%d-%d,-7" % (SEG - 5, SEG + 5)


def check_multi_range(http, cont, name, body):
    size = len(body)
    for ranges in MULTI_RANGES:
        spec = ",".join("-7" if r is None else "%d-%d" % r for r in ranges)
        spans = [(size - 7, size - 1) if r is None else r for r in ranges]
        assert_multi_range(http, cont, name, body, spans, spec)


def test_multi_range(ranged):
    http, cont, body = ranged
    check_multi_range(http, cont, "r", body)
    resp = http.request("GET", cont, "r", headers={"Range": "bytes=" + REFUSED_BY_SWIFT_ON_EC})
    assert resp.status_code == 416


def test_slo_of_ec_segments(http, ec_container, plaintexts):
    segs = [plaintexts.body(make_body("ec-slo-%d" % i, size))
            for i, size in enumerate((SEG + 100, 2 * SEG - 1, 777))]
    for i, seg in enumerate(segs):
        assert http.request("PUT", ec_container, "seg/%d" % i, data=seg).status_code == 201
    manifest = [{"path": "/%s/seg/%d" % (ec_container, i), "etag": md5(seg),
                 "size_bytes": len(seg)} for i, seg in enumerate(segs)]
    resp = http.request("PUT", ec_container, "slo", params={"multipart-manifest": "put"},
                        data=json.dumps(manifest))
    assert resp.status_code == 201, resp.text
    whole = b"".join(segs)
    resp = http.request("GET", ec_container, "slo")
    assert resp.status_code == 200 and resp.content == whole
    assert resp.headers["Etag"] == '"%s"' % md5("".join(md5(s) for s in segs).encode())
    first = len(segs[0]) - 9  # across the first two SLO segments and an EC segment
    resp = http.request("GET", ec_container, "slo",
                        headers={"Range": "bytes=%d-%d" % (first, first + SEG)})
    assert resp.status_code == 206 and resp.content == whole[first:first + SEG + 1]
    listing = {e["name"]: e for e in json.loads(
        http.request("GET", ec_container, params={"format": "json"}).content)}
    assert listing["slo"]["bytes"] == len(whole)
    assert listing["slo"]["slo_etag"] == resp.headers["Etag"]


# ------------------------------------------------------------------ copies

def test_copy_within_and_across_policies(cluster, conn, http, ec_container, plaintexts):
    """Server-side copies decrypt the source and encrypt the copy, whatever
    policy either side has."""
    replicated = unique("replicated")
    conn.put_container(replicated)
    body = plaintexts.body(make_body("ec-copy", 2 * SEG + 321))
    value = plaintexts.meta("ec-copy-meta-value")
    conn.put_object(ec_container, "src", body, headers={"X-Object-Meta-V": value})
    copies = [(ec_container, "src", ec_container, "ec-to-ec"),
              (ec_container, "src", replicated, "ec-to-replicated"),
              (replicated, "ec-to-replicated", ec_container, "replicated-to-ec")]
    for src_cont, src, dst_cont, dst in copies:
        resp = http.request("PUT", dst_cont, dst, data=b"",
                            headers={"X-Copy-From": "/%s/%s" % (src_cont, src)})
        assert resp.status_code == 201, (dst, resp.text)
        headers, got = conn.get_object(dst_cont, dst)
        assert got == body and headers["etag"] == md5(body), dst
        assert headers["x-object-meta-v"] == value, dst
        name = "/AUTH_test/%s/%s" % (dst_cont, dst)
        stored = [s for s in at_rest.stored_objects(cluster) if s.name == name]
        policy_dir = "objects-%d" % EC_POLICY_INDEX if dst_cont == ec_container else "objects"
        assert {s.path.split(os.sep)[-5] for s in stored} == {policy_dir}, dst
        # the copy has its own body key, bound to its own path
        assert {s.body_key_path() for s in stored} == {name}, dst
    listing = {e["name"]: e["hash"] for e in conn.get_container(ec_container)[1]}
    assert listing == {"src": md5(body), "ec-to-ec": md5(body), "replicated-to-ec": md5(body)}


def test_versioned_ec_container(conn, plaintexts):
    cont = unique("ec-versions")
    conn.put_container(cont, headers={"X-Storage-Policy": EC_POLICY_NAME,
                                      "X-Versions-Enabled": "true"})
    old = plaintexts.body(make_body("ec-version-old", SEG + 3))
    new = plaintexts.body(make_body("ec-version-new", 2 * SEG + 3))
    conn.put_object(cont, "doc", old)
    conn.put_object(cont, "doc", new)
    versions = conn.get_container(cont, query_string="versions")[1]
    assert [v["hash"] for v in versions] == [md5(new), md5(old)]
    assert conn.get_object(cont, "doc")[1] == new
    old_id = versions[1]["version_id"]
    headers, got = conn.get_object(cont, "doc", query_string="version-id=" + old_id)
    assert got == old and headers["etag"] == md5(old)


# ------------------------------------------------------------- conditional

def conditional_statuses(http, cont, name, etag):
    """{(method, header, which): status} for If-Match / If-None-Match with
    the object's etag (quoted and bare), another etag, both, and *."""
    other = md5(b"not it")
    values = {"etag": '"%s"' % etag, "bare": etag, "other": '"%s"' % other,
              "both": '"%s", "%s"' % (other, etag), "*": "*"}
    out = {}
    for method in ("GET", "HEAD"):
        for header in ("If-Match", "If-None-Match"):
            for which, value in values.items():
                resp = http.request(method, cont, name, headers={header: value})
                out[(method, header, which)] = resp.status_code
                if resp.status_code in (200, 304):
                    assert resp.headers["Etag"].strip('"') == etag, (method, header, which)
                if method == "GET" and resp.status_code == 200:
                    assert checksums.md5(resp.content).hexdigest() == etag
    return out


# Swift's answers: 200 when If-Match matches, 412 when it does not; 304
# when If-None-Match matches, 200 when it does not.
EXPECTED_CONDITIONAL = {
    (method, header, which): {
        "If-Match": {"etag": 200, "bare": 200, "other": 412, "both": 200, "*": 200},
        "If-None-Match": {"etag": 304, "bare": 304, "other": 200, "both": 304, "*": 304},
    }[header][which]
    for method in ("GET", "HEAD") for header in ("If-Match", "If-None-Match")
    for which in ("etag", "bare", "other", "both", "*")
}


def test_conditional_requests(http, ec_container, plaintexts):
    body = plaintexts.body(make_body("ec-conditional", SEG + 5000))
    assert http.request("PUT", ec_container, "c", data=body).status_code == 201
    assert conditional_statuses(http, ec_container, "c", md5(body)) == EXPECTED_CONDITIONAL
    resp = http.request("GET", ec_container, "c",
                        headers={"If-Match": md5(body), "Range": "bytes=%d-%d" % (SEG, SEG + 9)})
    assert resp.status_code == 206 and resp.content == body[SEG:SEG + 10]
    resp = http.request("PUT", ec_container, "c", data=b"x" * 20,
                        headers={"If-None-Match": "*"})
    assert resp.status_code == 412
    assert http.request("GET", ec_container, "c").content == body


# ---------------------------------------------------------------- metadata

def test_metadata_and_post(cluster, conn, ec_container, plaintexts):
    body = plaintexts.body(make_body("ec-meta", SEG + 1))
    color = plaintexts.meta("ec-secret-colour-\u00e4\u00f6\u00fc")
    conn.put_object(ec_container, "m", body, content_type="text/x-ec",
                    headers={"X-Object-Meta-Color": color})
    head = conn.head_object(ec_container, "m")
    assert head["x-object-meta-color"] == color and head["content-type"] == "text/x-ec"
    shape = plaintexts.meta("ec-posted-shape-value")
    conn.post_object(ec_container, "m", headers={"X-Object-Meta-Shape": shape})
    headers, got = conn.get_object(ec_container, "m")
    assert got == body and headers["etag"] == md5(body)
    assert headers["x-object-meta-shape"] == shape
    assert "x-object-meta-color" not in headers  # a POST replaces user metadata
    listing = conn.get_container(ec_container)[1]
    assert [(e["name"], e["hash"]) for e in listing] == [("m", md5(body))]
    # every fragment archive got the POST (a .meta each), none in plaintext
    metas = [p for p in cluster.object_meta_files() if p.endswith(".meta")
             and at_rest.metadata(p).get("name") == "/AUTH_test/%s/m" % ec_container]
    assert len(metas) == FRAGMENTS
    for path in metas:
        meta = at_rest.metadata(path)
        assert not [k for k in meta if k.lower().startswith("x-object-meta-")]
        assert any(k.lower() == "x-object-transient-sysmeta-crypto-meta-shape" for k in meta)


def test_client_etag_mismatch_stores_nothing(cluster, http, ec_container, plaintexts):
    body = plaintexts.body(make_body("ec-bad-etag", 2 * SEG + 7))
    for name, kwargs in (("bad", {"data": body}),
                         ("bad-chunked", {"data": iter([body[:SEG], body[SEG:]])}),
                         ("bad-empty", {"data": b""})):
        resp = http.request("PUT", ec_container, name,
                            headers={"Etag": md5(b"something else")}, **kwargs)
        assert resp.status_code == 422, name
        assert http.request("HEAD", ec_container, name).status_code == 404
        assert fragment_archives(cluster, "/AUTH_test/%s/%s" % (ec_container, name)) == []
    # the same body with its own etag is stored
    resp = http.request("PUT", ec_container, "bad", data=body,
                        headers={"Etag": '"%s"' % md5(body)})
    assert resp.status_code == 201 and resp.headers["Etag"] == md5(body)
    assert len(fragment_archives(cluster, "/AUTH_test/%s/bad" % ec_container)) == FRAGMENTS


# ----------------------------------------------------------------- at rest

def windows(body, step=4096, width=32):
    """32-byte windows of ``body`` every ``step`` bytes."""
    return [body[i:i + width] for i in range(0, len(body) - width + 1, step)]


def leaks(cluster, needles):
    """{needle: [paths]} of the EC policy's object files (bodies and
    xattrs) that contain a needle."""
    found = {}
    for path in cluster.object_meta_files():
        if os.sep + "objects-%d" % EC_POLICY_INDEX + os.sep not in path:
            continue
        with open(path, "rb") as fh:
            content = fh.read()
        content += b"".join(cluster.raw_xattrs(path).values())
        for needle in needles:
            if needle in content:
                found.setdefault(needle, []).append(path)
    return found


def test_no_plaintext_in_fragment_archives(cluster, plaintexts):
    body = plaintexts.body(make_body("ec-at-rest", 2 * SEG + 3000))
    value = plaintexts.meta("ec-at-rest-metadata-value")
    # control first: without encryption the fragment archives hold the
    # plaintext (the code is systematic), and this scan finds it
    cluster.use(Crypto())
    conn = connect(cluster)
    control_cont = make_ec_container(conn, "ec-control")
    control = make_body("ec-control-unencrypted", 2 * SEG + 3000)
    conn.put_object(control_cont, "plain", control,
                    headers={"X-Object-Meta-V": "ec-control-metadata-value"})
    control_needles = windows(control) + [b"ec-control-metadata-value"]
    found = leaks(cluster, control_needles)
    assert control_needles[0] in found and b"ec-control-metadata-value" in found
    assert len(found) > len(control_needles) // 2
    # the unencrypted object must not stay for the suite's own at-rest scan
    conn.delete_object(control_cont, "plain")
    assert fragment_archives(cluster, "/AUTH_test/%s/plain" % control_cont) == []

    cluster.use(swiftcrypt_crypto())
    conn = connect(cluster)
    cont = make_ec_container(conn, "ec-at-rest")
    conn.put_object(cont, "secret", body, headers={"X-Object-Meta-V": value})
    conn.post_object(cont, "secret", headers={"X-Object-Meta-W": value})
    assert len(fragment_archives(cluster, "/AUTH_test/%s/secret" % cont)) == FRAGMENTS
    assert leaks(cluster, windows(body) + [value.encode("utf-8")]) == {}


# ------------------------------------------------------------- tampering

FRAGMENT_HEADER = 80  # liberasurecode's header before each fragment's payload


def tamper(cluster, name, offset):
    """Flip the lowest bit of byte ``offset`` of the first segment's data
    in fragment archive 0 of ``name``, and remove fragment archive 1: any
    decode then uses the flipped fragment (with the parity, the other
    data fragment is rebuilt from it)."""
    archives = {s.header("X-Object-Sysmeta-Ec-Frag-Index"): s
                for s in fragment_archives(cluster, name)}
    with open(archives["0"].path, "r+b") as fh:
        fh.seek(FRAGMENT_HEADER + offset)
        byte = fh.read(1)[0]
        fh.seek(FRAGMENT_HEADER + offset)
        fh.write(bytes([byte ^ 1]))
    os.unlink(archives["1"].path)


def test_verify_body_catches_a_tampered_fragment(cluster, plaintexts):
    """AES-CTR is malleable and Swift's EC decode trusts the fragments:
    a flipped ciphertext bit reaches the client as a flipped plaintext
    bit, unless the encryption filter's verify_body cuts the response."""
    cluster.use(swiftcrypt_crypto())
    http = Http(cluster)
    cont = make_ec_container(connect(cluster), "ec-tamper")
    body = plaintexts.body(make_body("ec-tamper", 2 * SEG + 500))
    for name in ("control", "checked"):
        assert http.request("PUT", cont, name, data=body).status_code == 201
        tamper(cluster, "/AUTH_test/%s/%s" % (cont, name), 100)
    # the flip comes through where it was made and, since the single parity
    # fragment of a 2+1 code is the XOR of the data ones, in the half of the
    # segment rebuilt from it
    flipped = bytearray(body)
    for index in (100, SEG // 2 + 100):
        flipped[index] ^= 1
    resp = http.request("GET", cont, "control")
    assert resp.status_code == 200 and resp.content == bytes(flipped)

    cluster.use(swiftcrypt_crypto(encryption_options={"verify_body": "true"}))
    http = Http(cluster)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.request("GET", cont, "checked")
    assert "object /v1/AUTH_test/%s/checked is corrupt" % cont in cluster.log_tail("proxy")


# ------------------------------------------------------------- interchange

class EcObjects:
    """Objects of every size class, with metadata, in a new EC container."""

    def __init__(self, tag, plaintexts):
        self.tag = tag
        self.plaintexts = plaintexts
        self.container = None
        self.objects = {}  # name -> (body, metadata value)

    def write(self, cluster):
        conn = connect(cluster)
        self.container = make_ec_container(conn, "ec-%s" % self.tag)
        for size in SIZES:
            name = "o%d" % size
            body = self.plaintexts.body(make_body("ec-%s-%d" % (self.tag, size), size))
            value = self.plaintexts.meta("ec-%s-meta-\u00fc-%d" % (self.tag, size))
            assert conn.put_object(self.container, name, body,
                                   headers={"X-Object-Meta-Tag": value}) == md5(body)
            self.objects[name] = (body, value)
        name = "o%d" % SIZES[-1]
        posted = self.plaintexts.meta("ec-%s-posted-value" % self.tag)
        conn.post_object(self.container, name, headers={"X-Object-Meta-Tag": posted})
        self.objects[name] = (self.objects[name][0], posted)
        return self

    def check(self, cluster):
        conn = connect(cluster)
        http = Http(cluster)
        for name, (body, value) in self.objects.items():
            headers, got = conn.get_object(self.container, name)
            assert got == body, name
            assert headers["etag"] == md5(body), name
            assert headers["x-object-meta-tag"] == value, name
            if len(body) > 40:
                resp = http.request("GET", self.container, name,
                                    headers={"Range": "bytes=17-%d" % (len(body) - 20)})
                assert resp.status_code == 206 and resp.content == body[17:-19], name
            if body:
                assert conditional_statuses(
                    http, self.container, name, md5(body)) == EXPECTED_CONDITIONAL, name
        big = "o%d" % SIZES[-1]
        check_multi_range(http, self.container, big, self.objects[big][0])
        listing = {e["name"]: e for e in conn.get_container(self.container)[1]}
        assert {n: (e["hash"], e["bytes"]) for n, e in listing.items()} == {
            n: (md5(b), len(b)) for n, (b, _v) in self.objects.items()}
        return self


@pytest.mark.parametrize("writer,reader", [("swiftcrypt", "swift"), ("swift", "swiftcrypt")])
def test_interchange_with_swift_encryption(cluster, plaintexts, writer, reader):
    cluster.use(MAKE[writer]())
    data = EcObjects("%s-writes" % writer, plaintexts).write(cluster).check(cluster)
    cluster.use(MAKE[reader]())
    data.check(cluster)


# ------------------------------------------------------------------- rekey

@pytest.fixture
def account():
    return "AUTH_ecrekey%s" % uuid.uuid4().hex[:10]


@pytest.fixture
def cluster_policies(cluster):
    """This process's Swift code sees the cluster's storage policies (the
    EC one) for the test; the previous state comes back after it."""
    restore = use_swift_conf(cluster.swift_conf)
    yield cluster
    restore()


def run_rekey(cluster, conf, account):
    """``swiftcrypt rekey`` in a Python that sees the cluster's policies,
    as it would on a proxy host whose /etc/swift/swift.conf has them."""
    proc = subprocess.run(
        cluster.python_argv("swiftcrypt.cli", "rekey", "--config", conf,
                            "--account", account, "--verbose"),
        capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_rekey_account_on_ec(cluster, plaintexts, account, tmp_path):
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    cont = make_ec_container(conn)
    objects = {}
    for size in SIZES:
        objects["o%d" % size] = plaintexts.body(make_body("ec-rekey-%d" % size, size))
    meta = {"X-Object-Meta-Word": plaintexts.meta("ec-rekey-h\u00e9llo")}
    for name, body in objects.items():
        conn.put_object(cont, name, body, headers=meta)
    posted = {"X-Object-Meta-After": plaintexts.meta("ec-rekey-posted-value")}
    conn.post_object(cont, "o1000", headers=posted)

    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conf = rekey_conf(cluster, tmp_path / "rekey.conf")
    status, out, err = run_rekey(cluster, conf, account)
    assert status == 0, out + err
    # the empty object has only its metadata encrypted: re-keyed too
    assert summary_counts(out) == {
        "scanned": len(SIZES), "already current": 0, "re-keyed": len(SIZES),
        "conflicts": 0, "failures": 0, "unencrypted": 0, "expired": 0}, out
    for secret in SECRETS.values():
        assert base64.b64encode(secret).decode() not in out + err
    for name, body in objects.items():
        archives = fragment_archives(cluster, "/%s/%s/%s" % (account, cont, name))
        assert len(archives) == FRAGMENTS, name
        for stored in archives:
            if body:
                assert stored.crypto_meta(
                    "X-Object-Sysmeta-Crypto-Body-Meta")["key_id"]["secret_id"] == "B"

    # Swift's own encryption holding only B reads everything
    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    conn = admin_conn(cluster, account)
    for name, body in objects.items():
        headers, got = conn.get_object(cont, name)
        assert got == body and headers["etag"] == md5(body), name
        expected = posted if name == "o1000" else meta
        assert {k: v for k, v in headers.items() if k.startswith("x-object-meta-")} == {
            k.lower(): v for k, v in expected.items()}, name
    big = objects["o%d" % SIZES[-1]]
    _headers, got = conn.get_object(
        cont, "o%d" % SIZES[-1], headers={"Range": "bytes=%d-%d" % (SEG - 5, 2 * SEG + 5)})
    assert got == big[SEG - 5:2 * SEG + 6]
    listing = {e["name"]: e["hash"] for e in conn.get_container(cont)[1]}
    assert listing == {n: md5(b) for n, b in objects.items()}

    status, out, err = run_rekey(cluster, conf, account)
    assert status == 0, out + err
    counts = summary_counts(out)
    assert counts["re-keyed"] == 0 and counts["already current"] == len(SIZES), out


def test_rekey_in_process_on_ec(cluster_policies, plaintexts, account, tmp_path):
    """The tool's loop in this process (the test's policies fixture makes
    the EC policy known to the proxy app loaded here)."""
    from swiftcrypt.rekey import run
    from swiftcrypt.cli.rekey import load_pipeline

    cluster = cluster_policies
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    cont = make_ec_container(conn)
    body = plaintexts.body(make_body("ec-rekey-in-process", 2 * SEG + 1))
    conn.put_object(cont, "o", body)
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    app = load_pipeline(rekey_conf(cluster, tmp_path / "rekey.conf"))
    result = run.Rekeyer(app, account).rekey_object(cont, "o")
    assert (result.outcome, result.detail) == (run.REKEYED, "A -> B")
    cluster.use(Crypto("swift", "swift", secrets={"B": SECRETS["B"]}, active="B"))
    headers, got = admin_conn(cluster, account).get_object(cont, "o")
    assert got == body and headers["etag"] == md5(body)


def test_rekey_conflict_on_ec_keeps_the_client_write(cluster_policies, plaintexts, account,
                                                     tmp_path):
    """A client write made between the tool's read and its rewrite wins on
    EC too: the object servers refuse the older timestamp before any
    fragment is sent."""
    from swiftcrypt.rekey import run
    from swiftcrypt.cli.rekey import load_pipeline

    cluster = cluster_policies
    cluster.use(swiftcrypt_with(["A"], "A"))
    conn = admin_conn(cluster, account)
    cont = make_ec_container(conn)
    conn.put_object(cont, "raced", plaintexts.body(make_body("ec-race-old", SEG + 10)))
    cluster.use(swiftcrypt_with(["A", "B"], "B"))
    conn = admin_conn(cluster, account)
    newer = plaintexts.body(make_body("ec-race-newer", 2 * SEG + 10))
    app = load_pipeline(rekey_conf(cluster, tmp_path / "rekey.conf"))

    def client_put():
        conn.put_object(cont, "raced", newer, headers={"X-Object-Meta-Who": "client"})

    result = run.Rekeyer(RaceFirst(app, client_put), account).rekey_object(cont, "raced")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    headers, got = conn.get_object(cont, "raced")
    assert got == newer and headers["x-object-meta-who"] == "client"
    archives = fragment_archives(cluster, "/%s/%s/raced" % (account, cont))
    assert len(archives) == FRAGMENTS
    assert {s.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")["key_id"]["secret_id"]
            for s in archives} == {"B"}


def test_policies_fixture_is_reversible(cluster):
    from swift.common.storage_policy import POLICIES

    before = [p.name for p in POLICIES]
    restore = use_swift_conf(cluster.swift_conf)
    try:
        assert POLICIES.get_by_name(EC_POLICY_NAME).idx == EC_POLICY_INDEX
    finally:
        restore()
    assert [p.name for p in POLICIES] == before
