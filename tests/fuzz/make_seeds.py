"""Write the seed inputs of every fuzz target into corpus/<target>/.

Seeds are real: headers and listings written by our own encrypter under
the targets' fixed root secret, key ids of every version, multipart
bodies as the object server sends them. Run once; the fuzzer grows the
corpus from them (python tests/fuzz/make_seeds.py).
"""

import base64
import hashlib
import json
import os
import sys

from webob import Request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from swiftcrypt import cryptometa  # noqa: E402
from swiftcrypt.encryption import filter_factory as encryption_factory  # noqa: E402
from swiftcrypt.keymaster import filter_factory as keymaster_factory  # noqa: E402
from tests.fuzz import targets  # noqa: E402
from tests.support.memstore import MemStore  # noqa: E402


def stored_object():
    store = MemStore()
    encryption = encryption_factory({})(store)
    app = keymaster_factory({}, encryption_root_secret=base64.b64encode(
        targets.ROOT_SECRET).decode())(encryption)
    req = Request.blank(targets.OBJECT_PATH, method="PUT", headers={
        "X-Object-Meta-Color": "blue", "X-Object-Meta-Snow": "\u2603".encode().decode("latin-1"),
        "Content-Type": "text/plain"})
    req.body = b"fuzzing seed body"
    assert req.get_response(app).status_int == 201
    return store.objects[targets.OBJECT_PATH][0]


def seeds():
    meta = stored_object()
    out = {name: [] for name in targets.TARGETS}
    out["decrypt_headers"].append("\n".join("%s: %s" % kv for kv in meta.items()))
    out["decrypt_headers"].append("Content-Type: text/plain\nEtag: abc")
    body_meta = meta["X-Object-Sysmeta-Crypto-Body-Meta"]
    out["cryptometa_load"] += [body_meta, cryptometa.dump({"cipher": "AES_CTR_256",
                                                          "iv": b"\0" * 16}), "{}", "[]"]
    for value in meta.values():
        if "swift_meta=" in value:
            out["cryptometa_extract"].append(value)
    out["cryptometa_extract"] += ["plain", "a; b=c; swift_meta=%7B%7D"]
    listing = meta["X-Object-Sysmeta-Container-Update-Override-Etag"]
    out["listing_hash"] += [listing, hashlib.md5(b"").hexdigest()]
    entry = {"name": "obj", "hash": listing, "bytes": 17,
             "content_type": "text/plain", "last_modified": "2026-01-01T00:00:00"}
    out["listing_body"] += [
        "\0" + json.dumps([entry]),
        "\1<?xml version='1.0'?><container><object><name>obj</name><hash>%s</hash>"
        "</object></container>" % listing.replace("&", "&amp;")]
    path = "/%s/%s/%s" % (targets.ACCOUNT, targets.CONTAINER, targets.OBJECT)
    for key_id, c, o in (
            ({"v": "2", "path": path}, targets.CONTAINER, targets.OBJECT),
            ({"v": "3", "path": path, "secret_id": "other"}, targets.CONTAINER, targets.OBJECT),
            ({"v": "1", "path": "/slashed/name"}, targets.CONTAINER, "/slashed/name"),
            ({"v": "2", "path": "/%s/%s" % (targets.ACCOUNT, targets.CONTAINER)},
             targets.CONTAINER, ""),
            ({"v": "2", "path": "/AUTH_fuzz/caf\u00c3\u00a9/o"}, "caf\u00e9", "o")):
        out["keyids_resolve"].append("%s\n%s\n%s\n%s" % (
            json.dumps(key_id), targets.ACCOUNT, c, o))
    part = ("--BND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-3/10\r\n\r\n"
            "abcd\r\n--BND\r\nContent-Range: bytes 6-9/10\r\n\r\nghij\r\n--BND--\r\n")
    out["byteranges_rewriter"] += ["BND\n\x05" + part, "BND\n\x01" + part[:40]]
    out["content_range"] += ["bytes 0-99/100", "bytes 5-9/*", "bytes a-b/c"]
    return out


def main():
    for target, items in seeds().items():
        folder = os.path.join(HERE, "corpus", target)
        os.makedirs(folder, exist_ok=True)
        for item in items:
            data = item.encode("latin-1") if isinstance(item, str) else item
            name = "seed-" + hashlib.sha1(data).hexdigest()
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    print("seeds written under", os.path.join(HERE, "corpus"))


if __name__ == "__main__":
    main()
