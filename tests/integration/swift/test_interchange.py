"""Swapping Swift's keymaster/encryption and swiftcrypt's on the same data.

What one side writes, the other reads back: bodies, etags, user metadata,
listings, ranges, conditional requests and SLOs; also after a root secret
rotation made on either side, with either meta version, and with one
side's keymaster feeding the other side's encryption filter.
"""

import json
import os
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from tests.integration.swift import at_rest
from tests.integration.swift.conftest import (
    ROOT_SECRET, Http, connect, make_body, swift_crypto, swiftcrypt_crypto, unique)
from tests.integration.swift_cluster import Crypto
from swiftcrypt.common import checksums

ACCOUNT = "AUTH_test"
NEW_SECRET = os.urandom(32)
BOTH = {None: ROOT_SECRET, "next": NEW_SECRET}
MAKE = {"swift": swift_crypto, "swiftcrypt": swiftcrypt_crypto}
# (writer, reader): each side writes, the other reads
ACROSS = [("swift", "swiftcrypt"), ("swiftcrypt", "swift")]


def md5(data):
    return checksums.md5(data).hexdigest()


class DataSet:
    """A container of varied objects written through one pipeline."""

    def __init__(self, tag, plaintexts, container=None, prefix=""):
        self.tag = tag
        self.prefix = prefix
        self.container = container or "\u00e9change-%s-%s" % (tag, unique("x"))
        self.plaintexts = plaintexts
        self.objects = {}  # name -> (body, {meta name: value})
        self.slo = None

    def write(self, cluster):
        conn = connect(cluster)
        http = Http(cluster)
        conn.put_container(self.container)
        specs = [
            ("small", 100), ("block-edge", 16 * 1024), ("odd", 70001),
            ("\u65e5\u672c/\u6587\u5b57-\U0001F510", 3333), ("zero", 0),
        ]
        for name, size in specs:
            name = self.prefix + name
            body = self.plaintexts.body(make_body("%s-%s" % (self.tag, name), size))
            meta = {"Tag": self.plaintexts.meta("%s-metadata-\u00fc\u00f1\u00ee-%s"
                                                % (self.tag, size))}
            headers = {"X-Object-Meta-" + k: v for k, v in meta.items()}
            assert conn.put_object(self.container, name, body, headers=headers) == md5(body)
            self.objects[name] = (body, meta)
        # metadata set by POST
        posted = {"Posted": self.plaintexts.meta("%s-posted-value" % self.tag)}
        small, odd, block = (self.prefix + n for n in ("small", "odd", "block-edge"))
        conn.post_object(self.container, small,
                         headers={"X-Object-Meta-Posted": posted["Posted"]})
        self.objects[small] = (self.objects[small][0], posted)
        # a server-side copy
        resp = http.request("COPY", self.container, odd,
                            headers={"Destination": quote("/%s/%s-copy" % (self.container, odd))})
        assert resp.status_code == 201
        self.objects[odd + "-copy"] = self.objects[odd]
        # an SLO of two segments
        seg_names = ["%sslo/%d" % (self.prefix, i) for i in range(2)]
        segs = [self.objects[odd][0], self.objects[block][0]]
        for name, body in zip(seg_names, segs):
            conn.put_object(self.container, name, body)
            self.objects[name] = (body, {})
        manifest = [{"path": "/%s/%s" % (self.container, n), "etag": md5(b),
                     "size_bytes": len(b)} for n, b in zip(seg_names, segs)]
        resp = http.request("PUT", self.container, self.prefix + "manifest",
                            params={"multipart-manifest": "put"}, data=json.dumps(manifest))
        assert resp.status_code == 201, resp.text
        self.slo = b"".join(segs)
        return self

    def check(self, cluster):
        conn = connect(cluster)
        http = Http(cluster)
        for name, (body, meta) in self.objects.items():
            headers, got = conn.get_object(self.container, name)
            assert got == body, name
            assert headers["etag"] == md5(body), name
            for key, value in meta.items():
                assert headers["x-object-meta-" + key.lower()] == value, (name, key)
            assert not [h for h in headers if "crypto" in h]
            if len(body) > 20:
                resp = http.request("GET", self.container, name,
                                    headers={"Range": "bytes=3-19"})
                assert resp.status_code == 206 and resp.content == body[3:20], name
                resp = http.request("GET", self.container, name,
                                    headers={"Range": "bytes=0-0,-5"})
                assert resp.status_code == 206
                assert body[-5:] in resp.content
            resp = http.request("HEAD", self.container, name,
                                headers={"If-Match": '"%s"' % md5(body)})
            assert resp.status_code == 200, name
            resp = http.request("HEAD", self.container, name,
                                headers={"If-None-Match": '"%s"' % md5(body)})
            assert resp.status_code == 304, name
            resp = http.request("GET", self.container, name,
                                headers={"If-Match": '"%s"' % md5(b"other")})
            assert resp.status_code == 412, name
        listing = {e["name"]: e for e in conn.get_container(self.container)[1]}
        for name, (body, _meta) in self.objects.items():
            assert listing[name]["hash"] == md5(body), name
        resp = http.request("GET", self.container, params={"format": "xml"})
        root = ET.fromstring(resp.content)
        hashes = {o.findtext("name"): o.findtext("hash") for o in root.findall("object")}
        for name, (body, _meta) in self.objects.items():
            assert hashes[name] == md5(body), name
        headers, got = conn.get_object(self.container, self.prefix + "manifest")
        assert got == self.slo
        resp = http.request("GET", self.container, self.prefix + "manifest",
                            headers={"Range": "bytes=69990-70010"})
        assert resp.status_code == 206 and resp.content == self.slo[69990:70011]
        return self

    def key_paths(self, cluster):
        """{object name: stored body key_id} for the non-empty objects."""
        out = {}
        for name, (body, _meta) in self.objects.items():
            if body:
                stored = at_rest.find(cluster, "/%s/%s/%s" % (ACCOUNT, self.container, name))
                out[name] = stored.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")["key_id"]
        return out


def test_swift_writes_swiftcrypt_reads(cluster, plaintexts):
    cluster.use(swift_crypto())
    data = DataSet("s2c", plaintexts).write(cluster).check(cluster)
    cluster.use(swiftcrypt_crypto())
    data.check(cluster)
    # and what swiftcrypt adds in that container reads back on Swift
    more = DataSet("s2c-more", plaintexts, container=data.container, prefix="more-")
    more.write(cluster)
    cluster.use(swift_crypto())
    data.check(cluster)
    more.check(cluster)


def test_swiftcrypt_writes_swift_reads(cluster, plaintexts):
    cluster.use(swiftcrypt_crypto())
    data = DataSet("c2s", plaintexts).write(cluster).check(cluster)
    cluster.use(swift_crypto())
    data.check(cluster)
    cluster.use(swiftcrypt_crypto())
    data.check(cluster)


@pytest.mark.parametrize("writer,reader", ACROSS)
def test_rotation_on_one_side_read_on_the_other(cluster, plaintexts, writer, reader):
    # before the rotation: only the original secret
    cluster.use(MAKE[writer]())
    old = DataSet("rot-old-%s" % writer, plaintexts).write(cluster)
    # the writer rotates: a new active secret, the old one kept for reads
    cluster.use(MAKE[writer](secrets=BOTH, active="next"))
    new = DataSet("rot-new-%s" % writer, plaintexts).write(cluster)
    old.check(cluster)
    for key_id in new.key_paths(cluster).values():
        assert key_id.get("secret_id") == "next"
    for key_id in old.key_paths(cluster).values():
        assert "secret_id" not in key_id
    # the other side, configured alike, reads both generations
    cluster.use(MAKE[reader](secrets=BOTH, active="next"))
    old.check(cluster)
    new.check(cluster)
    # it re-writes metadata of an old object under the new secret ...
    conn = connect(cluster)
    value = plaintexts.meta("rotated-post-by-%s" % reader)
    conn.post_object(old.container, "odd", headers={"X-Object-Meta-Re": value})
    old.objects["odd"] = (old.objects["odd"][0], {"Re": value})
    # ... which the writer, still rotated, reads too
    cluster.use(MAKE[writer](secrets=BOTH, active="next"))
    old.check(cluster)
    new.check(cluster)
    # the reader with only the old secret still reads the old generation
    cluster.use(MAKE[reader]())
    body = old.objects["block-edge"][0]
    assert connect(cluster).get_object(old.container, "block-edge")[1] == body


@pytest.mark.parametrize("version", ["1", "2", "3"])
@pytest.mark.parametrize("writer,reader", ACROSS)
def test_meta_versions_written_on_one_side_read_on_the_other(cluster, plaintexts,
                                                            writer, reader, version):
    cluster.use(MAKE[writer](meta_version=version))
    data = DataSet("mv%s-%s" % (version, writer), plaintexts).write(cluster)
    paths = data.key_paths(cluster)
    assert {k["v"] for k in paths.values()} == {version}
    cluster.use(MAKE[reader]())
    data.check(cluster)


@pytest.mark.parametrize("keymaster,encryption", [("swift", "swiftcrypt"),
                                                  ("swiftcrypt", "swift")])
def test_mixed_keymaster_and_encryption(cluster, plaintexts, keymaster, encryption):
    cluster.use(Crypto(keymaster, encryption, {None: ROOT_SECRET}))
    data = DataSet("mix-%s" % keymaster, plaintexts).write(cluster).check(cluster)
    cluster.use(swiftcrypt_crypto())
    data.check(cluster)
    cluster.use(swift_crypto())
    data.check(cluster)


def raw_request(cluster, method, path, headers, body=b""):
    """http.client with header values as raw bytes (not necessarily UTF-8)."""
    import http.client

    storage_url, token = cluster.auth()
    conn = http.client.HTTPConnection("127.0.0.1", cluster.ports["proxy"], timeout=60)
    try:
        conn.putrequest(method, storage_url.split(str(cluster.ports["proxy"]), 1)[1] + path)
        conn.putheader("X-Auth-Token", token)
        conn.putheader("Content-Length", str(len(body)))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        # raw header bytes, as the server sent them
        return resp.status, {k.lower(): v.encode("latin-1") for k, v in resp.getheaders()}, data
    finally:
        conn.close()


@pytest.mark.parametrize("writer,reader", ACROSS)
def test_object_metadata_that_is_not_utf8(cluster, plaintexts, writer, reader):
    # Swift accepts any bytes in object metadata values (only account and
    # container metadata must be UTF-8); a truncated multi-byte character:
    value = "\u00e9l\u00e8ve-\u6771\u4eac-not-utf8-".encode("utf-8") + "\u6771".encode()[:2]
    plaintexts.meta(value.decode("latin-1").encode("utf-8"))
    cont = unique("nonutf8")
    cluster.use(MAKE[writer]())
    connect(cluster).put_container(cont)
    status, _h, body = raw_request(cluster, "PUT", "/%s/o" % cont,
                                   {"X-Object-Meta-Raw": value}, b"payload")
    assert status == 201, body
    for crypto in (MAKE[writer](), MAKE[reader]()):
        cluster.use(crypto)
        status, headers, body = raw_request(cluster, "GET", "/%s/o" % cont, {})
        assert status == 200 and body == b"payload"
        assert headers["x-object-meta-raw"] == value, crypto


@pytest.mark.parametrize("writer,reader", ACROSS)
def test_object_versions_written_on_one_side_read_on_the_other(cluster, plaintexts,
                                                               writer, reader):
    # object versioning keeps old versions in a reserved (NUL-named) container
    cont = unique("versioned")
    cluster.use(MAKE[writer]())
    http = Http(cluster)
    assert http.request("PUT", cont, headers={"X-Versions-Enabled": "true"}).status_code == 201
    bodies, ids = [], []
    for i in range(3):
        body = plaintexts.body(make_body("versions-%s-%d" % (writer, i), 5000 + i))
        resp = http.request("PUT", cont, "doc", data=body)
        assert resp.status_code == 201
        bodies.append(body)
        ids.append(resp.headers["X-Object-Version-Id"])
    cluster.use(MAKE[reader]())
    http = Http(cluster)
    resp = http.request("GET", cont, params={"versions": "", "format": "json"})
    assert resp.status_code == 200
    assert {e["version_id"]: e["hash"] for e in resp.json()} == {
        vid: md5(b) for vid, b in zip(ids, bodies)}
    for vid, body in zip(ids, bodies):
        resp = http.request("GET", cont, "doc", params={"version-id": vid})
        assert resp.status_code == 200 and resp.content == body
        assert resp.headers["Etag"] == md5(body)
    assert http.request("GET", cont, "doc").content == bodies[-1]


def test_missing_secret_behaves_as_swift(cluster, plaintexts):
    # written under the "next" secret, read by proxies that lack it
    cluster.use(swiftcrypt_crypto(secrets=BOTH, active="next"))
    cont = unique("lost")
    conn = connect(cluster)
    conn.put_container(cont)
    body = plaintexts.body(make_body("lost-secret", 1000))
    conn.put_object(cont, "o", body)
    seen = {}
    for side, make in MAKE.items():
        cluster.use(make())
        http = Http(cluster)
        listing = http.request("GET", cont, params={"format": "json"})
        get = http.request("GET", cont, "o")
        head = http.request("HEAD", cont, "o")
        seen[side] = (listing.status_code, [e["hash"] for e in listing.json()],
                      get.status_code, head.status_code)
        assert body not in get.content
    assert seen["swiftcrypt"] == seen["swift"]
    assert seen["swift"][0] == 200 and seen["swift"][2] >= 500
