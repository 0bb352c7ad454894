"""``swiftcrypt rekey --encrypt-plaintext``: which parts of an object are
plaintext (pure), and the loop over in-memory pipelines - objects and
account or container metadata written before encryption was enabled are
encrypted under the active secret and read back unchanged, the default
run leaves them as before, a dry run writes nothing, a racing write wins."""

import os

import pytest
from webob import Response

from swiftcrypt.rekey import plan

from swiftcrypt.rekey import run
from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
from swiftcrypt.cli.rekey import _line, summary
from tests.support.dbstore import DbStore
from tests.support.memstore import MemStore
from tests.support.pipelines import call, encrypting_pipeline
from tests.unit.test_rekey import raw
from tests.unit.test_rekey_db_metadata import NEW_ONLY, OLD_ONLY, ROTATED, Case

MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"
BODY, LISTING, METADATA = plan.BODY, plan.LISTING, plan.METADATA


# the pure decision

@pytest.mark.parametrize("headers, parts", [
    ({"Content-Length": "10"}, [BODY]),
    ({"Content-Length": "10", "X-Object-Meta-Color": "blue"}, [BODY, METADATA]),
    ({"Content-Length": "0", "X-Object-Meta-Color": "blue"}, [METADATA]),
    ({"Content-Length": "0"}, []),
    ({"Content-Length": "0", "X-Object-Meta-Gone": ""}, []),
    # a symlink: its target is in the listing etag, which the encrypter encrypts
    ({"Content-Length": "0", "X-Object-Sysmeta-Container-Update-Override-Etag":
      MD5_EMPTY + "; symlink_target=c/t"}, [LISTING]),
    # a bare empty etag is not encrypted by the encrypter either
    ({"Content-Length": "0", "X-Object-Sysmeta-Container-Update-Override-Etag": MD5_EMPTY},
     []),
    # an SLO manifest: body and listing etag (with slo_etag)
    ({"Content-Length": "120", "X-Static-Large-Object": "True",
      "X-Object-Sysmeta-Container-Update-Override-Etag": "abc; slo_etag=def"},
     [BODY, LISTING]),
], ids=["body", "body+meta", "empty+meta", "empty", "removed-meta", "symlink",
        "empty-etag", "slo"])
def test_plaintext_parts(headers, parts):
    assert plan.plaintext_parts(headers) == parts


def test_encrypted_parts_are_not_plaintext():
    assert plan.plaintext_parts(raw("A", "A", "A")) == []
    assert plan.plaintext_parts(raw("A", "A", False, length="0")) == []
    # user metadata POSTed through a proxy without encryption, over an
    # encrypted body
    posted = dict(raw("A", "A", False))
    posted["X-Object-Meta-Later"] = "plain"
    assert plan.plaintext_parts(posted) == [METADATA]


# the loop, objects

class TimedStore(MemStore):
    """MemStore keeping each PUT's X-Timestamp (as the object server does),
    refusing one not newer than what it replaces (409), and paging its
    listing by marker."""

    def __init__(self):
        super().__init__()
        self.clock = 1700000000

    def do_PUT(self, req):
        stamp = req.headers.get("X-Timestamp")
        if stamp is None:
            self.clock += 1
            stamp = "%d.00000" % self.clock
        old = self.objects.get(req.environ["PATH_INFO"])
        if old is not None and old[0]["X-Backend-Timestamp"] >= stamp:
            return Response(status=409)
        resp = super().do_PUT(req)
        if resp.status_int == 201:
            self.objects[req.environ["PATH_INFO"]][0]["X-Backend-Timestamp"] = stamp
        return resp

    def listing(self, req):
        resp = super().listing(req)
        marker = req.params.get("marker", "")
        resp.json = [entry for entry in resp.json if entry["name"] > marker]
        return resp


PLAIN_OBJECTS = {
    "big": (os.urandom(70000), {"Content-Type": "application/x-big"}),
    "meta": (b"a body with metadata", {"X-Object-Meta-Color": "blue",
                                       "X-Delete-At": "4000000000"}),
    "empty-meta": (b"", {"X-Object-Meta-Tag": "zero"}),
    "empty": (b"", {}),
    "link": (b"", {"X-Object-Sysmeta-Container-Update-Override-Etag":
                   MD5_EMPTY + "; symlink_target=c/meta",
                   "X-Object-Sysmeta-Symlink-Target": "c/meta"}),
}


def plain_store():
    """Objects written with no encryption in the pipeline."""
    store = TimedStore()
    for name, (body, headers) in PLAIN_OBJECTS.items():
        assert call(store, "/v1/AUTH_a/c/" + name, "PUT", body=body,
                    headers=headers).status_int == 201
    return store


def tool(app, **kw):
    return run.Rekeyer(encrypting_pipeline(app, ROTATED), "AUTH_a", **kw)


def visible(resp):
    return {n.lower(): v for n, v in resp.headers.items()
            if n.lower().startswith("x-object-meta-")
            or n.lower() in ("etag", "content-type", "x-delete-at", "content-length")}


def test_plaintext_objects_are_encrypted_and_read_back_unchanged():
    store = plain_store()
    before = {name: visible(call(store, "/v1/AUTH_a/c/" + name)) for name in PLAIN_OBJECTS}
    listing_before = call(store, "/v1/AUTH_a/c", query_string="format=json").json
    reported = []
    counts = tool(store, encrypt_plaintext=True).run("c", report=reported.append)
    lines = sorted(_line(r) for r in reported)
    assert lines == ["current c/empty", "encrypted c/big (plaintext -> new)",
                     "encrypted c/empty-meta (plaintext -> new)",
                     "encrypted c/link (plaintext -> new)",
                     "encrypted c/meta (plaintext -> new)"]
    assert (counts[run.ENCRYPTED], counts[run.CURRENT]) == (4, 1)
    assert summary("AUTH_a", counts, False, True).endswith(", encrypted 4")

    for name in ("big", "meta", "empty-meta", "link"):
        meta, body = store.objects["/v1/AUTH_a/c/" + name]
        assert plan.plaintext_parts(meta | {"Content-Length": str(len(body))}) == [], name
        assert set(plan.secret_ids(meta).values()) == {"new"}, name
        assert not any(n.lower().startswith("x-object-meta-") for n in meta), name
    assert PLAIN_OBJECTS["meta"][0] not in store.objects["/v1/AUTH_a/c/meta"][1]

    reader = encrypting_pipeline(store, NEW_ONLY)
    for name, (body, _headers) in PLAIN_OBJECTS.items():
        got = call(reader, "/v1/AUTH_a/c/" + name)
        assert got.status_int == 200 and got.body == body, name
        assert visible(got) == before[name], name
    listing = call(reader, "/v1/AUTH_a/c", query_string="format=json").json
    assert [(e["name"], e["hash"], e["bytes"], e["content_type"]) for e in listing] == [
        (e["name"], e["hash"], e["bytes"], e["content_type"]) for e in listing_before]

    counts = tool(store, encrypt_plaintext=True).run("c")
    assert counts[run.CURRENT] == 5 and counts[run.ENCRYPTED] == 0


def test_by_default_plaintext_objects_are_left_as_they_are():
    store = plain_store()
    before = {path: (dict(meta), body) for path, (meta, body) in store.objects.items()}
    reported = []
    counts = tool(store).run("c", report=reported.append)
    assert "unencrypted c/big" in [_line(r) for r in reported]
    # the symlink and the empty object with metadata count as unencrypted
    # too (the same 4 --encrypt-plaintext would encrypt): "unencrypted 0"
    # means nothing is left in plaintext; only the bare empty object is current
    assert (counts[run.UNENCRYPTED], counts[run.CURRENT]) == (4, 1)
    assert store.objects == before
    assert not summary("AUTH_a", counts, False).endswith("encrypted 0")


def test_dry_run_and_limit():
    store = plain_store()
    before = {path: (dict(meta), body) for path, (meta, body) in store.objects.items()}
    reported = []
    counts = tool(store, encrypt_plaintext=True, dry_run=True).run("c", report=reported.append)
    assert counts[run.WOULD_ENCRYPT] == 4
    assert "would encrypt c/big (plaintext -> new)" in [_line(r) for r in reported]
    assert summary("AUTH_a", counts, True, True).endswith(", would encrypt 4")
    assert store.objects == before
    assert tool(store, encrypt_plaintext=True).run("c", limit=1)[run.ENCRYPTED] == 1
    counts = tool(store, encrypt_plaintext=True).run("c", limit=2)
    # big (done) and empty are current and do not count
    assert counts[run.ENCRYPTED] == 2 and counts[run.CURRENT] == 2


def test_stale_object_with_plaintext_metadata_is_encrypted_and_re_keyed():
    store = TimedStore()
    path = "/v1/AUTH_a/c/o"
    assert call(encrypting_pipeline(store, OLD_ONLY), path, "PUT",
                body=b"under old").status_int == 201
    # metadata POSTed through a proxy without encryption
    assert call(store, path, "POST", headers={"X-Object-Meta-Later": "plain"}).status_int == 202
    result = tool(store, encrypt_plaintext=True).rekey_object("c", "o")
    # counted as re-keyed: a part was under the old secret
    assert (result.outcome, result.detail) == (run.REKEYED, "plaintext, old -> new")
    got = call(encrypting_pipeline(store, NEW_ONLY), path)
    assert got.body == b"under old" and got.headers["X-Object-Meta-Later"] == "plain"


def test_a_racing_client_write_wins():
    store = plain_store()
    newer = b"the client's newer plaintext"

    class Racing:
        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            if environ["REQUEST_METHOD"] == "PUT":
                call(store, "/v1/AUTH_a/c/big", "PUT", body=newer)
            return self.app(environ, start_response)

    result = tool(Racing(store), encrypt_plaintext=True).rekey_object("c", "big")
    assert (result.outcome, result.detail) == (run.CONFLICT, "a newer write won")
    assert store.objects["/v1/AUTH_a/c/big"][1] == newer


# the loop, account and container metadata

@pytest.fixture(params=[ACCOUNT, CONTAINER], ids=lambda level: level.kind)
def case(request):
    return Case(request.param)


def plain_db(case):
    store = DbStore(case.level.kind, case.path)
    call(store, case.path, "POST", headers={case.user + "Color": "blue",
                                            case.user + "Temp-Url-Key": "plain-key"})
    return store


def meta_tool(app, case, **kw):
    return run.Rekeyer(encrypting_pipeline(app, ROTATED, **case.option), "AUTH_a",
                            encrypt_plaintext=True, **kw)


def test_plain_metadata_is_encrypted_where_the_filter_encrypts_it(case):
    store = plain_db(case)
    result = meta_tool(store, case).rekey_metadata(case.container)
    assert (result.outcome, result.detail) == (run.ENCRYPTED, "plaintext -> new")
    assert _line(result) == "encrypted %s (plaintext -> new)" % case.line
    assert case.secret_ids(store) == {"Color": "new"}
    assert case.user + "Color" not in store.meta
    # a name Swift's middlewares read stays plain
    assert store.meta[case.user + "Temp-Url-Key"] == "plain-key"
    resp = call(encrypting_pipeline(store, NEW_ONLY), case.path, "HEAD")
    assert resp.headers[case.user + "Color"] == "blue"
    assert meta_tool(store, case).rekey_metadata(case.container).outcome == run.CURRENT


def test_plain_metadata_is_left_without_the_option_or_the_flag(case):
    store = plain_db(case)
    before = dict(store.meta)
    assert tool(store, encrypt_plaintext=True).rekey_metadata(case.container) is None
    assert meta_tool(store, case, dry_run=True).rekey_metadata(case.container).outcome == \
        run.WOULD_ENCRYPT
    rekeyer = meta_tool(store, case)
    rekeyer.encrypt_plaintext, rekeyer.plain_names = False, {}
    assert rekeyer.rekey_metadata(case.container) is None
    assert store.meta == before


def test_plain_and_stale_values_in_one_post(case):
    store = plain_db(case)
    case.post(store, OLD_ONLY, Owner="me")
    result = meta_tool(store, case).rekey_metadata(case.container)
    assert (result.outcome, result.detail) == (run.REKEYED, "plaintext, old -> new")
    assert case.secret_ids(store) == {"Color": "new", "Owner": "new"}
    assert [m for m, _h in store.requests].count("POST") == 3  # two writes, one tool POST


def test_a_plain_value_changed_meanwhile_is_left_alone(case):
    store = plain_db(case)

    def racing(environ, start_response):
        if environ["REQUEST_METHOD"] == "HEAD" and sum(
                m == "HEAD" for m, _h in store.requests) == 1:
            store.meta[case.user + "Color"] = "red"  # before the re-read
        return store(environ, start_response)

    result = meta_tool(racing, case).rekey_metadata(case.container)
    assert result.outcome == run.CONFLICT
    assert store.meta[case.user + "Color"] == "red" and case.secret_ids(store) == {}



def stale_store():
    """One object (body and metadata) encrypted under the old secret."""
    store = TimedStore()
    assert call(encrypting_pipeline(store, OLD_ONLY), "/v1/AUTH_a/c/o", "PUT",
                body=b"secret body", headers={"X-Object-Meta-K": "v"}).status_int == 201
    return store


@pytest.mark.parametrize("make_store, run_options", [
    (plain_store, {"encrypt_plaintext": True}),
    # a re-key through it would decrypt the object and store it plaintext,
    # reported "re-keyed" (and "unencrypted" by the next run)
    (stale_store, {"dry_run": False}), (stale_store, {"dry_run": True})])
def test_a_tool_whose_filter_does_not_encrypt_stops(make_store, run_options):
    store = make_store()
    before = {path: (dict(meta), body) for path, (meta, body) in store.objects.items()}
    rekeyer = run.Rekeyer(encrypting_pipeline(store, ROTATED, disable_encryption="true"),
                               "AUTH_a", **run_options)
    with pytest.raises(run.StopRun, match="disable_encryption"):
        rekeyer.run("c")
    assert store.objects == before


def test_swifts_encryption_with_disable_encryption_stops_too():
    pytest.importorskip("swift")
    from swift.common.middleware.crypto import filter_factory as swift_encryption

    store = stale_store()
    before = {path: (dict(meta), body) for path, (meta, body) in store.objects.items()}
    from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory
    pipeline = keymaster_factory({}, **ROTATED)(
        swift_encryption({}, disable_encryption="true")(store))
    for flag in (False, True):
        with pytest.raises(run.StopRun, match="disable_encryption"):
            run.Rekeyer(pipeline, "AUTH_a", encrypt_plaintext=flag).rekey_object("c", "o")
    assert store.objects == before


@pytest.mark.parametrize("body, headers", [
    (b"secret body", {"X-Object-Meta-K": "v"}),
    (b"", {"X-Object-Meta-K": "v"}),
    (b"", {"X-Object-Sysmeta-Container-Update-Override-Etag": MD5_EMPTY
           + "; symlink_target=c/t", "X-Object-Sysmeta-Symlink-Target": "c/t"}),
], ids=["body", "empty+meta", "symlink"])
def test_a_pipeline_without_a_decrypter_rewrites_nothing(body, headers):
    # its GET returns the stored ciphertext: rewritten without the crypto
    # sysmeta, it would be served as the object's plaintext
    from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory

    store = TimedStore()
    assert call(encrypting_pipeline(store, OLD_ONLY), "/v1/AUTH_a/c/o", "PUT",
                body=body, headers=headers).status_int == 201
    before = {path: (dict(meta), data) for path, (meta, data) in store.objects.items()}
    rekeyer = run.Rekeyer(keymaster_factory({}, **ROTATED)(store), "AUTH_a")
    with pytest.raises(run.StopRun, match="not decrypted"):
        rekeyer.rekey_object("c", "o")
    assert store.objects == before


def stale_with_plain_metadata():
    store = stale_store()
    # metadata POSTed through a proxy without encryption: the body stays
    # under the old secret
    assert call(store, "/v1/AUTH_a/c/o", "POST",
                headers={"X-Object-Meta-Later": "plain"}).status_int == 202
    return store


def test_a_stale_object_with_plaintext_parts_counts_as_re_keyed():
    # the dry run's "would re-key 0" is what says the old secret may go:
    # an object still under it must be counted there, whatever else it has
    store = stale_with_plain_metadata()
    reported = []
    counts = tool(store, encrypt_plaintext=True, dry_run=True).run("c", report=reported.append)
    assert [_line(r) for r in reported] == ["would re-key c/o (plaintext, old -> new)"]
    assert summary("AUTH_a", counts, True, True).startswith(
        "dry run: account AUTH_a: scanned 1, already current 0, would re-key 1,")
    counts = tool(store, encrypt_plaintext=True).run("c", report=reported.append)
    assert _line(reported[-1]) == "re-keyed c/o (plaintext, old -> new)"
    assert (counts[run.REKEYED], counts[run.ENCRYPTED]) == (1, 0)


def test_metadata_with_stale_and_plain_values_counts_as_re_keyed(case):
    store = plain_db(case)
    case.post(store, OLD_ONLY, Owner="me")
    result = meta_tool(store, case, dry_run=True).rekey_metadata(case.container)
    assert (result.outcome, result.detail) == (run.WOULD_REKEY, "plaintext, old -> new")


def test_encrypt_plaintext_through_a_pipeline_without_encryption_stops():
    # it would store the plaintext again and report it "encrypted", every run
    from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory

    store = plain_store()
    before = {path: (dict(meta), body) for path, (meta, body) in store.objects.items()}
    for dry_run in (True, False):
        rekeyer = run.Rekeyer(keymaster_factory({}, **ROTATED)(store), "AUTH_a",
                                   encrypt_plaintext=True, dry_run=dry_run)
        with pytest.raises(run.StopRun, match="no encryption filter"):
            rekeyer.run("c")
    assert store.objects == before
