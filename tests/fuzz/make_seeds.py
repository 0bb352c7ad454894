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

from swiftcrypt.common import checksums  # noqa: E402
from swiftcrypt.crypto import cryptometa  # noqa: E402
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory  # noqa: E402
from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory  # noqa: E402
from tests.fuzz import targets  # noqa: E402
from tests.support.dbstore import DbStore  # noqa: E402
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


def stored_db_meta():
    """``{path: stored headers}`` of an account and two containers (one
    non-ASCII) whose metadata our encryption filter wrote under the
    targets' secrets (one value under the "other" one)."""
    paths = {"account": ["/v1/AUTH_fuzz"],
             "container": ["/v1/AUTH_fuzz/cont", "/v1/AUTH_fuzz/caf\u00c3\u00a9"]}
    out = {}
    for kind, kind_paths in paths.items():
        store = DbStore(kind, kind_paths[0])
        conf = {"encrypt_%s_metadata" % kind: "true"}
        for active in (None, "other"):
            app = targets._db_keymaster(encryption_factory({}, **conf)(store), active)
            for path in kind_paths:
                title = kind.title()
                headers = {"X-%s-Meta-Owner" % title: "other secret"} if active else {
                    "X-%s-Meta-Color" % title: "blue",
                    "X-%s-Meta-Snow" % title: "\u2603".encode().decode("latin-1"),
                    "X-%s-Meta-Temp-Url-Key" % title: "plain by design"}
                req = Request.blank("/", method="PUT" if not active else "POST",
                                    headers=headers)
                req.environ["PATH_INFO"] = path
                assert req.get_response(app).status_int == 204
        for path in kind_paths:
            out[path] = store.by_path[path]
    return out


def db_seeds(out):
    stored = stored_db_meta()
    foreign = {"/v1/AUTH_fuzz": "/v1/AUTH_other", "/v1/AUTH_fuzz/cont": "/v1/AUTH_fuzz/other"}
    for path, meta in stored.items():
        lines = "\n".join("%s: %s" % kv for kv in sorted(meta.items()))
        out["db_meta_decrypt"].append("GET %s\n%s" % (path, lines))
        if path in foreign:  # a value moved at rest: refused
            out["db_meta_decrypt"].append("GET %s\n%s" % (foreign[path], lines))
        kind = "Account" if path.count("/") == 2 else "Container"
        out["db_meta_decrypt"].append(
            "GET %s\n%s\nX-%s-Meta-Color: plain wins" % (path, lines, kind))
        _v, account, container = (path.split("/", 3) + [""])[1:4]
        container = container.encode("latin-1").decode("utf-8")  # the line is real text
        for value in sorted(meta.values()):
            if "swift_meta=" in value:
                key_id = cryptometa.extract(value)[1]["key_id"]
                out["db_key_id"].append("%s\n%s\n%s" % (json.dumps(key_id), account, container))
    for key_id, account, container in (
            ({"v": "3", "path": "/AUTH_fuzz"}, "AUTH_fuzz", ""),
            ({"v": "1", "path": "/AUTH_fuzz/cont"}, "AUTH_fuzz", ""),
            ({"v": "2", "path": "/AUTH_fuzz/cont", "secret_id": "other"}, "AUTH_fuzz", "cont"),
            ({"v": "2", "path": "/AUTH_fuzz/cont/obj"}, "AUTH_fuzz", "cont"),
            ({"v": "3", "path": "/AUTH_fuzz/caf\u00e9"}, "AUTH_fuzz", "caf\u00e9")):
        out["db_key_id"].append("%s\n%s\n%s" % (json.dumps(key_id), account, container))
    snow = "\u2603".encode().decode("latin-1")
    for title, path in (("Account", "/v1/AUTH_fuzz"), ("Container", "/v1/AUTH_fuzz/cont")):
        m, r = "X-%s-Meta-" % title, "X-Remove-%s-Meta-" % title
        out["db_meta_rewrite"] += [
            "PUT %s\n%sColor: blue\n%sSnow: %s\n%sTemp-Url-Key: k\n%sPlain_Name: p"
            % (path, m, m, snow, m, m),
            "POST %s\n%sOld: x\n%sGone:\n%sBack: again\n%sBack: x" % (path, r, m, m, r),
            "POST %s\n%sA_b: under\n%sLong: %s" % (path, m, m, "v" * 257),
            "POST %s\n%sBad: \xff\n%s: empty name" % (path, m, m),
            "POST %s off\n%sColor: plain\n%sOld: x\n%sGone:" % (path, m, r, m)]


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
    out["listing_hash"] += [listing, checksums.md5(b"").hexdigest()]
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
    db_seeds(out)
    return out


def main():
    only = sys.argv[1:]  # target names: write just their seeds
    for target, items in seeds().items():
        if only and target not in only:
            continue
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
