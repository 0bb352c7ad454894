"""No root secret held in a real Barbican, no key derived from it, no body
key or wrapped key in any log record or any response, on the kms_keymaster
path: the Barbican counterpart of tests/unit/test_secrets_never_logged.py.

Every logger is at DEBUG for the whole run, swiftcrypt's HTTP logger
(``swiftcrypt.keymanager.http``, where keystoneauth writes its request and
response lines for barbicanclient), ``barbicanclient``, ``keystoneauth``
and ``urllib3`` included. ``kms_keymaster`` + ``encryption`` over the
embedded store is built from secrets fetched from Barbican (without auth,
and behind Keystone) and serves PUT, GET, HEAD, ranges, conditionals,
POST, listings and DELETE, then failure cases: an object under a secret id
the keymaster no longer has, a wrong root secret, no keymaster, and at
start-up an unknown key id (404), a malformed one, another project's
secret (403), an unusable (text) secret and a stopped Barbican (with a
pipeline built before it stopped still serving). Then every log record
(formatted, with tracebacks, and its raw arguments), every response body
and header, and every start-up error (with its chained causes) is searched
for every secret in every printable form.
"""

import base64
import logging
import os
import traceback

import pytest
from webob import Request

from swiftcrypt.crypto import ciphers

from swiftcrypt.crypto import cryptometa

from swiftcrypt.middleware import encryption

from swiftcrypt.keymasters import handover

from swiftcrypt.crypto import derivation

from swiftcrypt.crypto import keyids

from swiftcrypt.keymasters import kms_keymaster
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.common.swiftpath import wsgi_to_str
from tests.integration.kms.conftest import (
    OTHER_USER,
    PROJECT,
    keystone_conf,
    noauth_conf,
    raw_store,
)
from tests.integration.servers.barbican import BarbicanServer
from tests.unit.test_secrets_never_logged import forms
from swiftcrypt.common import checksums

KMS = kms_keymaster.filter_factory
ACCOUNT = "AUTH_kms"
CONTAINER = "leak-check"
OBJECTS = ["o1", "dir/o2", "caf\u00e9"]
SENT = os.urandom(5000)
#: loggers named in the brief that may not exist yet when the run starts
THIRD_PARTY = ("barbicanclient", "barbicanclient.client", "barbicanclient.base",
               "barbicanclient.v1.secrets", "keystoneauth", "keystoneauth.session",
               "keystoneauth.identity", "keystoneauth1", "urllib3",
               "urllib3.connectionpool", "requests", "stevedore")
#: swiftcrypt's HTTP logger, at INFO by design; at DEBUG here all the same
HTTP_LOGGER = "swiftcrypt.keymanager.http"


class Capture(logging.Handler):
    """Every record of every logger, whatever its level or propagation."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        self.records.append(record)

    def texts(self):
        out = []
        for record in self.records:
            out.append(("log %s" % record.name, self.format(record)))
            out.append(("log args %s" % record.name, repr(record.args)))
            out.append(("log msg %s" % record.name, repr(record.msg)))
        return out


@pytest.fixture
def debug_everything():
    """DEBUG on the root logger and on every logger there is (and on the
    third-party ones by name), all records captured; restored afterwards."""
    capture = Capture()
    root = logging.getLogger()
    saved = {}
    names = set(THIRD_PARTY) | {HTTP_LOGGER, "swiftcrypt"}
    names |= {n for n, lg in logging.root.manager.loggerDict.items()
              if isinstance(lg, logging.Logger)}
    for name in [None] + sorted(names):
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.disabled)
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    root.addHandler(capture)
    # Loggers that do not propagate and exist already (Swift's filters make
    # some, e.g. in earlier tests of the same session) are watched from the
    # start; attach_to_non_propagating then reports only those the run made.
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in [root] + list(logging.root.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and capture in logger.handlers:
                logger.removeHandler(capture)
        for name, (level, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.disabled = disabled


def attach_to_non_propagating(capture):
    """Loggers created during the run that do not propagate to the root
    get the capture handler too (there should be none)."""
    found = []
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and not logger.propagate:
            if capture not in logger.handlers:
                logger.addHandler(capture)
                found.append(name)
    return found


class Run:
    """Drives pipelines and keeps every response body and header."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.store = raw_store(data_dir)
        self.texts = []
        self.statuses = []

    def pipeline(self, conf, verify_body=False):
        enc = {"verify_body": "true"} if verify_body else {}
        return KMS({}, **conf)(encryption.filter_factory({}, **enc)(self.store))

    def __call__(self, app, method, path="", body=None, headers=None):
        path_part, _, query = path.partition("?")
        env_path = ("/v1/%s/%s%s" % (ACCOUNT, CONTAINER, path_part)).encode(
            "utf-8").decode("latin-1")
        req = Request.blank("/", method=method, headers=headers or {})
        req.environ["PATH_INFO"] = env_path
        req.environ["QUERY_STRING"] = query
        if body is not None:
            req.body = body
        status = {}
        chunks = []
        try:
            for chunk in app(req.environ, lambda s, h, e=None: status.update(
                    status=s, headers=h)):
                chunks.append(chunk)
        except Exception as err:  # what a server would log and answer
            logging.getLogger("test.server").exception("error serving %s", path)
            chunks.append(str(err).encode())
        data = b"".join(chunks)
        code = int(status.get("status", "0")[:3])
        self.statuses.append((method, path, code))
        self.texts.append(("response %s %s %d" % (method, path, code),
                           data.decode("latin-1")))
        for name, value in status.get("headers", []):
            self.texts.append(("header %s %s" % (method, path), "%s: %s" % (name, value)))
        return code, data

    def start_failure(self, conf):
        """A start-up that must fail; keep the whole traceback (causes too)."""
        with pytest.raises(ConfigError) as info:
            KMS({}, **conf)
        text = "".join(traceback.format_exception(info.type, info.value, info.tb))
        self.texts.append(("start-up error", text))
        return str(info.value)


def workload(run, app):
    """Writes, reads, ranges, conditionals, POST, listings through ``app``."""
    assert run(app, "PUT")[0] in (201, 202)
    for name in OBJECTS:
        code, _ = run(app, "PUT", "/" + name, SENT, {
            "X-Object-Meta-Color": "blue-%s" % name.encode("utf-8").hex(),
            "Etag": checksums.md5(SENT).hexdigest()})
        assert code == 201
    for name in OBJECTS:
        path = "/" + name
        code, data = run(app, "GET", path)
        assert (code, data) == (200, SENT)
        assert run(app, "HEAD", path)[0] == 200
        assert run(app, "GET", path, headers={"Range": "bytes=10-20"})[1] == SENT[10:21]
        assert run(app, "GET", path, headers={"Range": "bytes=0-1,100-200"})[0] == 206
        assert run(app, "GET", path, headers={"Range": "bytes=99999-"})[0] == 416
        assert run(app, "GET", path, headers={"If-Match": '"nope"'})[0] == 412
        assert run(app, "GET", path, headers={
            "If-None-Match": '"%s"' % checksums.md5(SENT).hexdigest()})[0] == 304
        assert run(app, "POST", path, headers={"X-Object-Meta-Color": "red"})[0] == 202
        assert run(app, "HEAD", path)[0] == 200
    assert run(app, "GET", "?format=json")[0] == 200
    assert run(app, "GET", "?format=xml", headers={"Accept": "application/xml"})[0] == 200
    assert run(app, "GET", "")[0] == 200
    assert run(app, "HEAD", "")[0] in (200, 204)
    assert run(app, "GET", "/missing")[0] == 404
    assert run(app, "PUT", "/bad-etag", b"x", {"Etag": "0" * 32})[0] == 422


def failures_at_request_time(run, app_new_only, app_wrong, data_dir):
    """Objects the pipeline cannot decrypt, one way or another."""
    # written under secret id "old", read by a keymaster without it
    assert run(app_new_only, "GET", "/" + OBJECTS[0])[0] == 500
    run(app_new_only, "HEAD", "/" + OBJECTS[0])
    run(app_new_only, "GET", "?format=json")
    # the right secret ids, the wrong bytes behind "new"
    for name in OBJECTS[1:]:
        assert run(app_wrong, "GET", "/" + name)[0] == 500
        run(app_wrong, "HEAD", "/" + name)
        run(app_wrong, "POST", "/" + name, headers={"X-Object-Meta-Color": "green"})
    run(app_wrong, "GET", "?format=json")
    # no keymaster at all
    bare = encryption.filter_factory({})(raw_store(data_dir))
    run(bare, "GET", "/" + OBJECTS[1])


def secret_material(data_dir, roots, by_id):
    """Root secrets (``roots``: label -> bytes), the container and object
    keys derived from them, and the body key (unwrapped) and wrapped key of
    every stored object (``by_id``: secret id -> the root it is under)."""
    material = {}
    for label, root in roots.items():
        material["root %s" % label] = root
        material["container key %s" % label] = derivation.derive_key(
            root, keyids.container_path(ACCOUNT, CONTAINER))
        for name in OBJECTS:
            material["object key %s %s" % (label, name)] = derivation.derive_key(
                root, keyids.object_path(ACCOUNT, CONTAINER, name, "2"))
    store = raw_store(data_dir)
    found = 0
    for name in OBJECTS:
        path = "/v1/%s/%s/%s" % (ACCOUNT, CONTAINER, name)
        req = Request.blank("/")
        req.environ["PATH_INFO"] = path.encode("utf-8").decode("latin-1")
        resp = req.get_response(store)
        if resp.status_int != 200:
            continue
        loaded = cryptometa.load(resp.headers["X-Object-Sysmeta-Crypto-Body-Meta"])
        key_id = loaded["key_id"]
        root = by_id[key_id.get("secret_id")]
        object_key = derivation.derive_key(root, wsgi_to_str(key_id["path"]))
        body_key = ciphers.unwrap_key(object_key, loaded["body_key"])
        # it is the body key: it decrypts the stored body to what was sent
        assert ciphers.decrypt(body_key, loaded["iv"], resp.body[:16]) == SENT[:16]
        material["body key %s" % name] = body_key
        material["wrapped key %s" % name] = loaded["body_key"]["key"]
        found += 1
    return material, found


def find_leaks(material, haystacks):
    leaks = set()
    for label, secret in material.items():
        for form in forms(secret):
            for where, text in haystacks:
                if form in text:
                    leaks.add("%s found in %s: %r" % (
                        label, where, text[max(0, text.find(form) - 60):][:200]))
    return sorted(leaks)


@pytest.fixture(params=["noauth", "keystone"])
def barbican_mode(request, barbican_noauth):
    """(store bytes or text -> key id, conf for key ids, other project's
    key id maker, words that must not appear) for either mode."""
    if request.param == "noauth":
        def store(payload, **kw):
            return barbican_noauth.store_secret(payload, project_id=PROJECT, **kw)

        def conf(**key_ids):
            return noauth_conf(barbican_noauth, **key_ids)

        def other(payload):
            return barbican_noauth.store_secret(payload, project_id="someone-else")

        return store, conf, other, {}
    ks = request.getfixturevalue("keystone")
    barbican = request.getfixturevalue("barbican_keystone")
    session = request.getfixturevalue("swift_session")
    other_session = request.getfixturevalue("other_session")

    def store(payload, **kw):
        return barbican.store_secret(payload, session=session, **kw)

    def conf(**key_ids):
        return keystone_conf(ks, **key_ids)

    def other(payload):
        return barbican.store_secret(payload, session=other_session)

    password = conf()["password"].encode()
    return store, conf, other, {"swift user's password": password,
                                "other user's password": OTHER_USER[1].encode()}


def test_kms_path_logs_and_answers_no_secret(barbican_mode, debug_everything, tmp_path):
    store, conf, other, credentials = barbican_mode
    old, new, wrong, elsewhere = (os.urandom(32) for _ in range(4))
    text_secret = base64.b64encode(os.urandom(32)).decode()  # stored as text/plain
    ids = {"old": store(old), "new": store(new)}
    wrong_id = store(wrong)
    other_id = other(elsewhere)
    text_id = store(text_secret, secret_type="passphrase", algorithm=None)
    debug_everything.records.clear()  # storing them is the tests' doing, not ours

    run = Run(tmp_path)
    old_only = run.pipeline(conf(key_id_old=ids["old"], active_root_secret_id="old"))
    app = run.pipeline(conf(key_id_old=ids["old"], key_id_new=ids["new"],
                            active_root_secret_id="new"))
    assert run(old_only, "PUT")[0] in (201, 202)
    assert run(old_only, "PUT", "/" + OBJECTS[0], SENT)[0] == 201
    workload(run, app)
    code, data = run(app, "GET", "/" + OBJECTS[0])  # rewritten under "new" by workload
    assert (code, data) == (200, SENT)
    run(old_only, "PUT", "/" + OBJECTS[0], SENT)  # and back under "old"
    assert run(app, "GET", "/" + OBJECTS[0])[1] == SENT
    new_only = run.pipeline(conf(key_id_new=ids["new"], active_root_secret_id="new"))
    wrong_app = run.pipeline(conf(key_id_new=wrong_id, active_root_secret_id="new"))
    failures_at_request_time(run, new_only, wrong_app, tmp_path)
    verifying = run.pipeline(conf(key_id_old=ids["old"], key_id_new=ids["new"],
                                  active_root_secret_id="new"), verify_body=True)
    assert run(verifying, "GET", "/" + OBJECTS[1])[1] == SENT

    missing = "2f1d7c36-9d0e-4a55-8d0e-0000000004a4"
    assert "(404)" in run.start_failure(conf(key_id=missing))
    assert "(404)" in run.start_failure(conf(key_id_old=ids["old"], key_id_new=missing,
                                             active_root_secret_id="new"))
    assert "UUID" in run.start_failure(conf(key_id="not-a-uuid"))
    assert "(403)" in run.start_failure(conf(key_id=other_id))
    assert "payload is text" in run.start_failure(conf(key_id=text_id))
    run(app, "DELETE", "/" + OBJECTS[2])
    non_propagating = attach_to_non_propagating(debug_everything)

    material, stored = secret_material(
        tmp_path, {"old": old, "new": new, "wrong": wrong, "other project's": elsewhere},
        {"old": old, "new": new})
    material["text secret"] = text_secret.encode()
    material.update(credentials)
    records = debug_everything.records
    # the run did exercise what is searched
    assert stored == 2  # o1 (under "old") and dir/o2; café was deleted
    assert any(code == 500 for _m, _p, code in run.statuses)
    names = {r.name for r in records}
    assert HTTP_LOGGER in names and "urllib3.connectionpool" in names, sorted(names)
    assert any(r.name.startswith("barbicanclient") for r in records), sorted(names)
    payload_lines = [r.getMessage() for r in records
                     if r.name == HTTP_LOGGER and "/payload" in r.getMessage()]
    assert payload_lines, "the payload requests were not logged at DEBUG"
    assert any(r.levelno >= logging.ERROR for r in records)
    assert any(ids["new"] in r.getMessage() for r in records)  # it names what it fetched
    assert not non_propagating, non_propagating

    leaks = find_leaks(material, debug_everything.texts() + run.texts)
    assert not leaks, "\n".join(leaks[:20])


@pytest.fixture
def doomed_barbican(tmp_path):
    server = BarbicanServer(tmp_path / "doomed")
    yield server
    server.stop()


def test_barbican_stopped_logs_no_secret(doomed_barbican, debug_everything, tmp_path):
    root = os.urandom(32)
    key_id = doomed_barbican.store_secret(root, project_id=PROJECT)
    debug_everything.records.clear()
    conf = noauth_conf(doomed_barbican, key_id=key_id, timeout="3", retries="1")
    run = Run(tmp_path / "data")
    app = run.pipeline(conf)
    assert run(app, "PUT")[0] in (201, 202)
    for name in OBJECTS[:2]:
        assert run(app, "PUT", "/" + name, SENT, {"X-Object-Meta-Color": "blue"})[0] == 201
    doomed_barbican.stop()
    # a proxy that started before keeps serving: the secret was fetched once
    for name in OBJECTS[:2]:
        assert run(app, "GET", "/" + name)[1] == SENT
        assert run(app, "HEAD", "/" + name)[0] == 200
    assert run(app, "GET", "?format=json")[0] == 200
    # a new one cannot start (a new program: nothing handed over to it; a
    # seamless reload of this one would be, see test_kms_reload.py)
    os.environ[handover.ENV] = ""
    message = run.start_failure(conf)
    assert "unreachable" in message and "(2 attempts)" in message
    material, stored = secret_material(tmp_path / "data", {"root": root}, {None: root})
    assert stored == 2
    names = {r.name for r in debug_everything.records}
    assert HTTP_LOGGER in names and "urllib3.connectionpool" in names, sorted(names)
    leaks = find_leaks(material, debug_everything.texts() + run.texts)
    assert not leaks, "\n".join(leaks[:20])


def test_keys_store_logs_no_secret(barbican_noauth, debug_everything):
    """The ``swiftcrypt keys`` path: storing a secret sends it base64 in a
    JSON body, and reading a text secret back gets it in a text body;
    keystoneauth would log both at DEBUG."""
    text_secret = base64.b64encode(os.urandom(32)).decode()
    text_id = barbican_noauth.store_secret(text_secret, project_id=PROJECT,
                                           secret_type="passphrase", algorithm=None)
    debug_everything.records.clear()  # the test's helper stored that one, not us
    manager = kms_keymaster.make_key_manager(noauth_conf(barbican_noauth))
    try:
        secret = os.urandom(32)
        key_id = manager.store_secret(secret, name="stored by swiftcrypt keys")
        assert manager.get_secret(key_id).payload == secret
        created_id = manager.create_secret(name="generated by Barbican")
        created = manager.get_secret(created_id).payload
        assert manager.get_secret(text_id).payload == text_secret
    finally:
        manager.close()
    messages = [r.getMessage() for r in debug_everything.records if r.name == HTTP_LOGGER]
    assert any(m.startswith("REQ:") and "-X POST" in m and "-d (not logged)" in m
               for m in messages), messages
    assert "RESP BODY: (not logged)" in messages
    leaks = find_leaks({"stored": secret, "generated": created,
                        "text secret": text_secret.encode()}, debug_everything.texts())
    assert not leaks, "\n".join(leaks[:20])


@pytest.mark.parametrize("how", ["hex", "base64", "repr"])
def test_search_finds_a_logged_key(debug_everything, how):
    """The search itself: a key logged the usual ways, through the same
    capture, is found."""
    key = os.urandom(32)
    printed = {"hex": key.hex(), "base64": base64.b64encode(key).decode(),
               "repr": repr(key)}[how]
    logging.getLogger("swiftcrypt.keymasters.kms_keymaster").debug("payload %s", printed)
    leaks = find_leaks({"key": key}, debug_everything.texts())
    assert any(" in log swiftcrypt.keymasters.kms_keymaster" in leak for leak in leaks), leaks
