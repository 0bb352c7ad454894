"""swiftcrypt under Swift's copy, slo, dlo, versioned_writes and symlink."""

import json

import pytest
from swiftclient import ClientException

from tests.integration.swift import at_rest
from tests.integration.swift.conftest import make_body, unique
from swiftcrypt.common import checksums

ACCOUNT = "AUTH_test"


def md5(data):
    return checksums.md5(data).hexdigest()


def put_source(conn, plaintexts, container, name, tag, size):
    """``name`` in ``container`` with a recorded plaintext body of ``size``
    bytes and a recorded X-Object-Meta-Note value; returns (body, note)."""
    body = plaintexts.body(make_body(tag, size))
    note = plaintexts.meta("metadata-of-%s" % tag)
    conn.put_object(container, name, body, headers={"X-Object-Meta-Note": note})
    return body, note


def test_copy_reencrypts_for_destination(cluster, conn, http, container, plaintexts):
    other = unique("dest")
    conn.put_container(other)
    body, value = put_source(conn, plaintexts, container, "src", "copy-src", 20000)

    # X-Copy-From into another container
    resp = http.request("PUT", other, "by-put", data=b"",
                        headers={"X-Copy-From": "/%s/src" % container})
    assert resp.status_code == 201
    # COPY with Destination
    resp = http.request("COPY", container, "src",
                        headers={"Destination": "/%s/by-copy" % other})
    assert resp.status_code == 201
    # COPY within the container, with fresh metadata
    newval = plaintexts.meta("metadata-fresh-on-copy")
    resp = http.request("COPY", container, "src",
                        headers={"Destination": "/%s/same" % container,
                                 "X-Fresh-Metadata": "true",
                                 "X-Object-Meta-New": newval})
    assert resp.status_code == 201

    for cont, name in ((other, "by-put"), (other, "by-copy"), (container, "same")):
        headers, got = conn.get_object(cont, name)
        assert got == body, name
        assert headers["etag"] == md5(body)
        if name == "same":
            assert headers["x-object-meta-new"] == newval
            assert "x-object-meta-note" not in headers
        else:
            assert headers["x-object-meta-note"] == value
        listing = conn.get_container(cont)[1]
        assert {e["name"]: e["hash"] for e in listing}[name] == md5(body)

    src = at_rest.find(cluster, "/%s/%s/src" % (ACCOUNT, container))
    assert src.body_key_path() == "/%s/%s/src" % (ACCOUNT, container)
    for cont, name in ((other, "by-put"), (other, "by-copy"), (container, "same")):
        dst = at_rest.find(cluster, "/%s/%s/%s" % (ACCOUNT, cont, name))
        # keyed to its own path, and a different ciphertext from the source
        assert dst.body_key_path() == "/%s/%s/%s" % (ACCOUNT, cont, name)
        assert dst.body != src.body
        assert len(dst.body) == len(body)


def test_copy_of_a_range(conn, http, container, plaintexts):
    body = plaintexts.body(make_body("copy-range", 40000))
    conn.put_object(container, "src", body)
    resp = http.request("PUT", container, "part", data=b"",
                        headers={"X-Copy-From": "/%s/src" % container,
                                 "Range": "bytes=1000-30999"})
    assert resp.status_code == 201
    headers, got = conn.get_object(container, "part")
    assert got == body[1000:31000]
    assert headers["etag"] == md5(body[1000:31000])


def put_segments(conn, container, prefix, tag, sizes, plaintexts):
    segs = []
    for i, size in enumerate(sizes):
        data = plaintexts.body(make_body("%s-%d" % (tag, i), size))
        name = "%s/%04d" % (prefix, i)
        conn.put_object(container, name, data)
        segs.append((name, data))
    return segs


def test_slo(conn, http, container, plaintexts):
    segs = put_segments(conn, container, "slo-seg", "slo", [1024 * 1024, 1024 * 1024, 777],
                        plaintexts)
    manifest = [{"path": "/%s/%s" % (container, name), "etag": md5(data),
                 "size_bytes": len(data)} for name, data in segs]
    manifest.append({"path": "/%s/%s" % (container, segs[0][0]), "etag": None,
                     "size_bytes": None, "range": "10-2009"})
    value = plaintexts.meta("metadata-on-an-slo-manifest")
    resp = http.request("PUT", container, "big", params={"multipart-manifest": "put"},
                        data=json.dumps(manifest),
                        headers={"X-Object-Meta-Slo": value})
    assert resp.status_code == 201, resp.text
    whole = b"".join(d for _n, d in segs) + segs[0][1][10:2010]
    slo_etag = md5("".join(md5(d) for _n, d in segs).encode()
                   + md5(segs[0][1]).encode() + b":10-2009;")

    headers, got = conn.get_object(container, "big")
    assert got == whole
    assert headers["x-static-large-object"] == "True"
    assert headers["x-object-meta-slo"] == value
    assert headers["etag"].strip('"') == slo_etag
    # ranges across segment boundaries
    for first, last in ((0, 9), (1024 * 1024 - 5, 1024 * 1024 + 5),
                        (2 * 1024 * 1024 + 700, 2 * 1024 * 1024 + 900), (len(whole) - 1, None)):
        spec = "bytes=%d-%s" % (first, "" if last is None else last)
        resp = http.request("GET", container, "big", headers={"Range": spec})
        assert resp.status_code == 206
        assert resp.content == whole[first:None if last is None else last + 1]
    resp = http.request("GET", container, "big", headers={"Range": "bytes=5-9,-4"})
    assert resp.status_code == 206
    assert resp.content.count(b"--") >= 2 and whole[5:10] in resp.content

    # the stored manifest itself
    resp = http.request("GET", container, "big", params={"multipart-manifest": "get"})
    assert resp.status_code == 200
    stored = resp.json()
    assert [s["hash"] for s in stored[:3]] == [md5(d) for _n, d in segs]
    listing = {e["name"]: e for e in conn.get_container(container)[1]}
    assert listing["big"]["hash"] == resp.headers["Etag"].strip('"')
    assert listing["big"]["slo_etag"].strip('"') == slo_etag
    assert listing["big"]["bytes"] == len(whole)
    for name, data in segs:
        assert listing[name]["hash"] == md5(data)

    # If-Match against the SLO etag
    resp = http.request("HEAD", container, "big", headers={"If-Match": '"%s"' % slo_etag})
    assert resp.status_code == 200
    resp = http.request("HEAD", container, "big", headers={"If-None-Match": '"%s"' % slo_etag})
    assert resp.status_code == 304

    # copy of an SLO copies the assembled object
    resp = http.request("COPY", container, "big", headers={"Destination": "/%s/flat" % container})
    assert resp.status_code == 201
    assert conn.get_object(container, "flat")[1] == whole

    resp = http.request("DELETE", container, "big", params={"multipart-manifest": "delete"})
    assert resp.status_code == 200
    for name, _d in segs:
        with pytest.raises(ClientException):
            conn.head_object(container, name)


def test_dlo(conn, http, container, plaintexts):
    segs = put_segments(conn, container, "dlo-seg/", "dlo", [100000, 65536, 3], plaintexts)
    conn.put_object(container, "dlo", b"",
                    headers={"X-Object-Manifest": "%s/dlo-seg/" % container})
    whole = b"".join(d for _n, d in segs)
    headers, got = conn.get_object(container, "dlo")
    assert got == whole
    assert headers["etag"].strip('"') == md5("".join(md5(d) for _n, d in segs).encode())
    resp = http.request("GET", container, "dlo", headers={"Range": "bytes=99990-100010"})
    assert resp.status_code == 206 and resp.content == whole[99990:100011]
    resp = http.request("GET", container, "dlo", headers={"Range": "bytes=-10"})
    assert resp.content == whole[-10:]
    listing = {e["name"]: e["hash"] for e in conn.get_container(container)[1]}
    assert listing["dlo"] == md5(b"")
    # a new segment shows up in the next GET
    more = plaintexts.body(make_body("dlo-3", 5000))
    conn.put_object(container, "dlo-seg/9999", more)
    assert conn.get_object(container, "dlo")[1] == whole + more


def test_versioned_writes_history_location(conn, container, plaintexts):
    archive = unique("archive")
    conn.put_container(archive)
    conn.post_container(container, headers={"X-History-Location": archive})
    versions = [plaintexts.body(make_body("hist-v%d" % i, 3000 + i)) for i in range(3)]
    for data in versions:
        conn.put_object(container, "doc", data)
    assert conn.get_object(container, "doc")[1] == versions[-1]
    old = conn.get_container(archive)[1]
    assert len(old) == 2
    got = sorted(conn.get_object(archive, e["name"])[1] for e in old)
    assert got == sorted(versions[:2])
    assert sorted(e["hash"] for e in old) == sorted(md5(v) for v in versions[:2])
    conn.delete_object(container, "doc")
    with pytest.raises(ClientException):
        conn.get_object(container, "doc")
    # the last version and a delete marker
    assert len(conn.get_container(archive)[1]) == 4


def test_versioned_writes_versions_location(conn, container, plaintexts):
    archive = unique("vloc")
    conn.put_container(archive)
    conn.post_container(container, headers={"X-Versions-Location": archive})
    versions = [plaintexts.body(make_body("vloc-v%d" % i, 2000 + i)) for i in range(3)]
    for data in versions:
        conn.put_object(container, "doc", data)
    conn.delete_object(container, "doc")  # restores the previous version
    headers, got = conn.get_object(container, "doc")
    assert got == versions[1]
    assert headers["etag"] == md5(versions[1])


def test_object_versioning(conn, http, container, plaintexts):
    conn.post_container(container, headers={"X-Versions-Enabled": "true"})
    versions = [plaintexts.body(make_body("objver-v%d" % i, 4000 + i)) for i in range(3)]
    ids = []
    for data in versions:
        resp = http.request("PUT", container, "doc", data=data)
        assert resp.status_code == 201
        ids.append(resp.headers["X-Object-Version-Id"])
    resp = http.request("GET", container, params={"versions": "", "format": "json"})
    assert resp.status_code == 200
    listing = resp.json()
    assert {e["version_id"]: e["hash"] for e in listing} == {
        vid: md5(v) for vid, v in zip(ids, versions)}
    for vid, data in zip(ids, versions):
        resp = http.request("GET", container, "doc", params={"version-id": vid})
        assert resp.status_code == 200 and resp.content == data
        assert resp.headers["Etag"] == md5(data)
        resp = http.request("GET", container, "doc", params={"version-id": vid},
                            headers={"Range": "bytes=100-199"})
        assert resp.content == data[100:200]
    resp = http.request("DELETE", container, "doc")
    assert resp.status_code == 204
    assert http.request("GET", container, "doc").status_code == 404
    resp = http.request("GET", container, "doc", params={"version-id": ids[0]})
    assert resp.content == versions[0]
    # restore an old version by copying it over the current name
    resp = http.request("PUT", container, "doc", data=b"",
                        headers={"X-Copy-From": "/%s/doc" % container},
                        params={"version-id": ids[0]})
    assert resp.status_code == 201
    assert http.request("GET", container, "doc").content == versions[0]
    conn.post_container(container, headers={"X-Versions-Enabled": "false"})


def test_symlinks(conn, http, container, plaintexts):
    other = unique("links")
    conn.put_container(other)
    body, value = put_source(conn, plaintexts, container, "target", "symlink-target", 9000)

    resp = http.request("PUT", other, "link", data=b"",
                        headers={"X-Symlink-Target": "%s/target" % container})
    assert resp.status_code == 201
    resp = http.request("GET", other, "link")
    assert resp.status_code == 200 and resp.content == body
    assert resp.headers["Etag"] == md5(body)
    assert resp.headers["X-Object-Meta-Note"] == value
    assert resp.headers["Content-Location"].endswith("/%s/target" % container)
    resp = http.request("GET", other, "link", headers={"Range": "bytes=8990-"})
    assert resp.status_code == 206 and resp.content == body[8990:]
    resp = http.request("GET", other, "link", params={"symlink": "get"})
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["X-Symlink-Target"] == "%s/target" % container

    # a static link names the plaintext etag of its target
    resp = http.request("PUT", other, "static", data=b"",
                        headers={"X-Symlink-Target": "%s/target" % container,
                                 "X-Symlink-Target-Etag": md5(body)})
    assert resp.status_code == 201, resp.text
    resp = http.request("GET", other, "static")
    assert resp.status_code == 200 and resp.content == body
    resp = http.request("PUT", other, "badstatic", data=b"",
                        headers={"X-Symlink-Target": "%s/target" % container,
                                 "X-Symlink-Target-Etag": md5(b"wrong")})
    assert resp.status_code == 409
    listing = {e["name"]: e for e in conn.get_container(other)[1]}
    assert listing["static"]["symlink_etag"] == md5(body)
    assert listing["link"]["symlink_path"].endswith("/%s/target" % container)

    # overwrite the target: the dynamic link follows, the static one refuses
    new = plaintexts.body(make_body("symlink-target-2", 100))
    conn.put_object(container, "target", new)
    assert http.request("GET", other, "link").content == new
    assert http.request("GET", other, "static").status_code == 409
