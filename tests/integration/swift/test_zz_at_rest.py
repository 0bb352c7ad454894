"""At rest: no plaintext body bytes and no plaintext user metadata value in
any object server file or its xattrs.

Named to run after the other modules of this directory, so the scan also
covers every plaintext they recorded; it writes its own objects first, so it
proves something when run alone too.
"""

import glob
import os
import pickle

from tests.integration.swift import at_rest
from tests.integration.swift.conftest import make_body, unique
from swiftcrypt.common import checksums


def forms(value):
    """The byte forms a plaintext value could take on disk."""
    out = {value}
    try:
        # a WSGI string re-encoded as UTF-8 (how Swift pickles header values)
        out.add(value.decode("latin-1").encode("utf-8"))
    except UnicodeError:
        pass
    return out


def samples(body):
    """Distinctive 32-byte windows of a body: start, middle, end."""
    if len(body) <= 32:
        return {body}
    mid = len(body) // 2
    return {body[:32], body[mid:mid + 32], body[-32:]}


def pickled_items(raw):
    meta = pickle.loads(raw, encoding="bytes")  # noqa: S301 - our own test data
    for key, value in meta.items():
        for item in (key, value):
            if isinstance(item, str):
                yield item.encode("utf-8", "surrogateescape")
                try:
                    yield item.encode("latin-1")
                except UnicodeError:
                    pass
            elif isinstance(item, bytes):
                yield item


def write_own_objects(conn, plaintexts):
    cont = unique("atrest")
    conn.put_container(cont)
    for i, size in enumerate((17, 1000, 65536 + 7)):
        body = plaintexts.body(make_body("atrest-%d" % i, size))
        value = plaintexts.meta("at-rest-secret-meta-\u00e4\u00f6\u00fc-%d" % i)
        conn.put_object(cont, "o%d" % i, body, headers={"X-Object-Meta-S": value})
    conn.post_object(cont, "o1", headers={
        "X-Object-Meta-Posted": plaintexts.meta("at-rest-posted-meta-value")})
    conn.put_object(cont, "empty", b"", headers={
        "X-Object-Meta-E": plaintexts.meta("at-rest-meta-of-empty-object")})
    conn.put_object(cont, "copy", b"", headers={"X-Copy-From": "/%s/o2" % cont})
    return cont


def test_nothing_plaintext_at_rest(cluster, conn, plaintexts):
    write_own_objects(conn, plaintexts)
    files = cluster.object_meta_files()
    data_files = [f for f in files if f.endswith(".data")]
    assert len(data_files) >= 5
    body_needles = set()
    for body in plaintexts.bodies:
        body_needles |= samples(body)
    meta_needles = set()
    for value in plaintexts.meta_values:
        meta_needles |= forms(value)
    assert body_needles and meta_needles

    problems = []
    for path in files:
        with open(path, "rb") as fh:
            content = fh.read()
        raw = at_rest.raw_metadata(path)
        xattrs = b"".join(cluster.raw_xattrs(path).values())
        items = list(pickled_items(raw)) if raw else []
        for needle in body_needles:
            if needle in content or needle in xattrs or any(needle in i for i in items):
                problems.append("%s: plaintext body bytes %r" % (path, needle[:20]))
        for needle in meta_needles:
            if needle in content or needle in xattrs or any(needle in i for i in items):
                problems.append("%s: plaintext metadata %r" % (path, needle))
        if raw:
            meta = at_rest.metadata(path)
            user = [k for k in meta if k.lower().startswith("x-object-meta-")]
            if user:
                problems.append("%s: plain user metadata headers %s" % (path, user))
            if path.endswith(".data") and int(meta.get("Content-Length", "0")) > 0:
                if "X-Object-Sysmeta-Crypto-Body-Meta" not in meta:
                    problems.append("%s (%s): body stored without crypto meta"
                                    % (path, meta.get("name")))
    assert not problems, "\n".join(problems[:50])


def test_listing_etags_encrypted_in_container_dbs(cluster, plaintexts):
    dbs = glob.glob(os.path.join(cluster.devices, "*", "containers", "**", "*.db"),
                    recursive=True)
    assert dbs
    content = b""
    for path in dbs:
        for name in (path, path + ".pending", path + "-wal"):
            if os.path.exists(name):
                with open(name, "rb") as fh:
                    content += fh.read()
    leaked = [checksums.md5(b).hexdigest() for b in plaintexts.bodies
              if checksums.md5(b).hexdigest().encode() in content]
    assert not leaked, "plaintext MD5s in container DBs: %s" % leaked[:10]
