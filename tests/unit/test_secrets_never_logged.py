"""No root secret, derived key, body key or wrapped key in any log line or
error response, at every level down to DEBUG.

A representative run (writes, reads, ranges, conditionals, POST,
listings, deletes, client errors, bad stored crypto meta, unknown key
ids, a wrong root secret, tampered bodies, config errors) is made with
all logging captured; then every captured line, every response body and
every error message (with its chained causes) is searched for each
secret in every form it could be printed in.
"""

import base64
import binascii
import logging
import os
import traceback

import pytest
from webob import Request

from swiftcrypt.crypto import ciphers

from swiftcrypt.crypto import cryptometa

from swiftcrypt.crypto import derivation
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory
from tests.support.memstore import MemStore
from tests.unit.test_bad_input import BAD_STORED, _mangle
from swiftcrypt.common import checksums

ROOT = os.urandom(32)
OLD_ROOT = os.urandom(32)
ACCOUNT = "AUTH_s"
OBJECTS = ["o1", "dir/o2", "caf\u00e9"]
SENT = os.urandom(5000)


def forms(secret):
    """Every way bytes may be printed, and long-enough pieces of them."""
    texts = [
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        binascii.hexlify(secret).decode(),
        repr(secret)[2:-1],
        secret.decode("latin-1"),
    ]
    out = set()
    for text in texts:
        out.add(text)
        # a printed prefix or slice leaks too: any 16 characters of it
        for start in range(0, max(1, len(text) - 16), 8):
            piece = text[start:start + 16]
            if len(piece) == 16:
                out.add(piece)
    return out


def wsgi(path):
    return path.encode("utf-8").decode("latin-1")


class Run:
    """Drives the pipeline and records every response body."""

    def __init__(self, store, **encryption_conf):
        self.store = store
        self.bodies = []
        self.app = self.pipeline(ROOT, OLD_ROOT, **encryption_conf)

    def pipeline(self, root, old=None, active="new", **encryption_conf):
        conf = {"encryption_root_secret_%s" % active: base64.b64encode(root).decode(),
                "active_root_secret_id": active}
        if old is not None:
            conf["encryption_root_secret_old"] = base64.b64encode(old).decode()
        return keymaster_factory({}, **conf)(encryption_factory({}, **encryption_conf)(
            self.store))

    def __call__(self, path, method="GET", body=None, headers=None, app=None, raw=False):
        req = Request.blank("/", method=method, headers=headers or {})
        req.environ["PATH_INFO"] = path if raw else wsgi(path)
        if body is not None:
            req.body = body
        chunks = []
        status = {}
        try:
            for chunk in (app or self.app)(req.environ, lambda s, h, e=None: status.update(
                    status=s, headers=h)):
                chunks.append(chunk)
        except Exception as err:  # what a server would log
            logging.getLogger("test.server").exception("error serving %s", path)
            chunks.append(str(err).encode())
        data = b"".join(chunks)
        self.bodies.append(data)
        for name, value in status.get("headers", []):
            self.bodies.append(("%s: %s" % (name, value)).encode("latin-1"))
        return int(status.get("status", "0")[:3]), data


def secret_material(store):
    """Root secrets, every derived key, every body key and wrapped key."""
    material = {"root": ROOT, "old root": OLD_ROOT}
    for root_name, root in (("new", ROOT), ("old", OLD_ROOT)):
        material["container key %s" % root_name] = derivation.derive_key(
            root, "/%s/c" % ACCOUNT)
        for name in OBJECTS:
            material["object key %s %s" % (root_name, name)] = derivation.derive_key(
                root, "/%s/c/%s" % (ACCOUNT, name))
    for path, (meta, _body) in store.objects.items():
        body_meta = meta.get("X-Object-Sysmeta-Crypto-Body-Meta")
        if not body_meta:
            continue
        loaded = cryptometa.load(body_meta)
        wrapped = loaded["body_key"]["key"]
        material["wrapped key %s" % path] = wrapped
        name = path.split("/", 4)[4].encode("latin-1").decode("utf-8")
        root = {"new": ROOT, "old": OLD_ROOT}[loaded["key_id"]["secret_id"]]
        object_key = derivation.derive_key(root, "/%s/c/%s" % (ACCOUNT, name))
        body_key = ciphers.unwrap_key(object_key, loaded["body_key"])
        # it is the body key: it decrypts the stored body to what was sent
        assert ciphers.decrypt(body_key, loaded["iv"], _body[:16]) == SENT[:16]
        material["body key %s" % path] = body_key
    return material


def representative_run(store, caplog):
    run = Run(store)
    verifying = Run(store, verify_body="true")
    old_only = run.pipeline(OLD_ROOT, active="old")
    wrong = run.pipeline(os.urandom(32))
    c = "/v1/%s/c" % ACCOUNT
    body = SENT
    assert run(c, "PUT")[0] in (201, 202, 204)
    # written under the old secret, then read under the new active one
    status, _ = run(c + "/" + OBJECTS[0], "PUT", body, {"X-Object-Meta-A": "1"}, app=old_only)
    assert status == 201
    for name in OBJECTS[1:]:
        status, _ = run(c + "/" + name, "PUT", body, {"X-Object-Meta-Color": "blue",
                                                      "Etag": checksums.md5(body).hexdigest()})
        assert status == 201
    for name in OBJECTS:
        path = c + "/" + name
        assert run(path)[0] == 200
        run(path, "HEAD")
        run(path, headers={"Range": "bytes=10-20"})
        run(path, headers={"Range": "bytes=0-1,100-200"})
        run(path, headers={"If-Match": '"nope"'})
        run(path, headers={"If-None-Match": "*"})
        run(path, "POST", headers={"X-Object-Meta-Color": "red"})
        run(path, app=wrong)  # wrong root secret: 500
        run(path, headers={"Range": "bytes=99999-"})
    run(c + "?format=json")
    run(c + "?format=xml", headers={"Accept": "application/xml"})
    run(c + "/missing")
    run(c + "/bad-etag", "PUT", b"x", {"Etag": "0" * 32})
    run(c + "/big-meta", "PUT", b"x", {"X-Object-Meta-Big": "v" * 300})
    assert run("/v1/%s/c/\xff" % ACCOUNT, "PUT", b"x", raw=True)[0] == 412
    run(c + "/o1", app=encryption_factory({})(store))  # no keymaster
    # bad stored crypto meta of every kind, unknown key ids included
    pristine = {p: (dict(m), b) for p, (m, b) in store.objects.items()}
    target = "/v1/%s/c/%s" % (ACCOUNT, wsgi(OBJECTS[1]))
    for case in sorted(BAD_STORED):
        header, new = BAD_STORED[case]
        meta, data = pristine[target]
        meta = dict(meta)
        _mangle(meta, header, new)
        store.objects[target] = (meta, data)
        run(c + "/" + OBJECTS[1])
        run(c + "/" + OBJECTS[1], "HEAD")
    store.objects[target] = pristine[target]
    # tampered body under verify_body
    meta, data = store.objects[target]
    store.objects[target] = (meta, bytes([data[0] ^ 1]) + data[1:])
    verifying(c + "/" + OBJECTS[1])
    store.objects[target] = (meta, data)
    for name in OBJECTS[2:]:
        run(c + "/" + name, "DELETE")
    return run.bodies + verifying.bodies


def config_error_texts(tmp_path, caplog):
    """Start-up failures and warnings about the secrets themselves."""
    texts = []
    b64 = base64.b64encode(ROOT).decode()
    bad_confs = [
        {"encryption_root_secret": b64[:20]},                         # too short
        {"encryption_root_secret": b64[:-2] + "!!"},                  # not base64
        {"encryption_root_secret": b64, "active_root_secret_id": "x"},
        {"encryption_root_secret": b64, "meta_version_to_write": "7"},
        {"encryption_root_secret_": b64},
    ]
    files = {
        "no-section.conf": "encryption_root_secret = %s\n" % b64,
        "bad-line.conf": "[keymaster]\nencryption_root_secret %s\n" % b64,
        "short.conf": "[keymaster]\nencryption_root_secret = %s\n" % b64[:30],
        "dup.conf": "[keymaster]\nencryption_root_secret = %s\nencryption_root_secret = %s\n"
                    % (b64, b64),
    }
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        os.chmod(path, 0o600)
        bad_confs.append({"keymaster_config_path": str(path)})
    clash = tmp_path / "clash.conf"
    clash.write_text("[keymaster]\nencryption_root_secret = %s\n" % b64)
    bad_confs.append({"keymaster_config_path": str(clash), "encryption_root_secret": b64})
    for conf in bad_confs:
        with pytest.raises(ConfigError) as info:
            keymaster_factory({}, **conf)
        texts.append("".join(traceback.format_exception(
            info.type, info.value, info.tb)))
    # readable by others: a warning, and it still works
    open_file = tmp_path / "open.conf"
    open_file.write_text("[keymaster]\nencryption_root_secret = %s\n" % b64)
    os.chmod(open_file, 0o644)
    keymaster_factory({}, keymaster_config_path=str(open_file))
    assert "accessible by group or others" in caplog.text
    return texts


def test_no_secret_material_in_logs_or_responses(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="swiftcrypt")
    store = MemStore()
    bodies = representative_run(store, caplog)
    configs = config_error_texts(tmp_path, caplog)
    material = secret_material(store)
    # the run did exercise what we search: errors were logged, keys exist
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) >= len(BAD_STORED)
    assert "corrupt" in caplog.text and "error decrypting object" in caplog.text
    assert len([k for k in material if k.startswith("body key")]) == 2  # one deleted
    assert any(b"Error decrypting object" == b for b in bodies)
    haystacks = [("log", caplog.text)]
    haystacks += [("log args", repr(r.args)) for r in caplog.records]
    haystacks += [("response %d" % i, b.decode("latin-1")) for i, b in enumerate(bodies)]
    haystacks += [("config error %d" % i, t) for i, t in enumerate(configs)]
    leaks = []
    for label, secret in material.items():
        for form in forms(secret):
            for where, text in haystacks:
                if form in text:
                    leaks.append("%s found in %s" % (label, where))
    assert not leaks, sorted(set(leaks))[:20]


def test_search_would_find_a_leak(caplog):
    """The detector itself: a key printed any usual way is caught."""
    key = os.urandom(32)
    for printed in (key.hex(), base64.b64encode(key).decode(), repr(key),
                    base64.b64encode(key).decode()[5:30]):
        assert any(form in "logged: %s." % printed for form in forms(key)), printed
