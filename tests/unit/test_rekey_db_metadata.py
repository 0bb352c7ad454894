"""``swiftcrypt rekey`` and encrypted account and container metadata, once
per level: values under a retired secret are re-encrypted under the active
one (as sysmeta, never as plaintext, whatever the tool's encryption
options), current ones are left alone, and the run reports one line for
the account's metadata and one per container's."""

import base64

import pytest
from swift.common.middleware.crypto import keymaster as swift_keymaster

from swiftcrypt.crypto import cryptometa

from swiftcrypt.rekey import run
from swiftcrypt.crypto.account_container_metadata import ACCOUNT, CONTAINER
from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.cli.rekey import _line
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline

OLD = base64.b64encode(b"O" * 32).decode()
NEW = base64.b64encode(b"N" * 32).decode()
OLD_ONLY = {"encryption_root_secret_old": OLD, "active_root_secret_id": "old"}
ROTATED = {"encryption_root_secret_old": OLD, "encryption_root_secret_new": NEW,
           "active_root_secret_id": "new"}
NEW_ONLY = {"encryption_root_secret_new": NEW, "active_root_secret_id": "new"}


class Case:
    """One level: where its metadata lives and how the tool names it."""

    def __init__(self, level):
        self.level = level
        self.container = None if level is ACCOUNT else "c"
        self.path = "/v1/AUTH_a" + ("" if level is ACCOUNT else "/c")
        self.crypto = level.crypto_prefix
        self.user = level.user_prefix
        self.option = {"encrypt_%s_metadata" % level.kind: "true"}
        self.line = "%s metadata%s" % (level.kind, "" if level is ACCOUNT else " c")

    def post(self, store, keymaster_conf, **values):
        """POST ``values`` (name: value) through a pipeline that encrypts."""
        app = encrypting_pipeline(store, keymaster_conf, **self.option)
        resp = call(app, self.path, "POST", headers={
            self.user + name: value for name, value in values.items()})
        assert resp.status_int == 204

    def secret_ids(self, store):
        return {name[len(self.crypto):]: cryptometa.extract(value)[1]["key_id"].get("secret_id")
                for name, value in store.meta.items() if name.startswith(self.crypto)}


@pytest.fixture(params=[ACCOUNT, CONTAINER], ids=lambda level: level.kind)
def case(request):
    return Case(request.param)


@pytest.fixture
def store(case):
    store = DbStore(case.level.kind, case.path)
    case.post(store, OLD_ONLY, **{"Color": "blue", "Owner": "me",
                                  "Temp-Url-Key": "plain-key"})
    return store


def tool(app, **encryption_conf):
    """The tool: rotated keymaster, encryption (by default with the
    metadata options off), ``app``."""
    return run.Rekeyer(encrypting_pipeline(app, ROTATED, **encryption_conf), "AUTH_a")


def test_stale_values_are_re_encrypted_under_the_active_secret(case, store):
    assert case.secret_ids(store) == {"Color": "old", "Owner": "old"}
    before = dict(store.meta)
    result = tool(store).rekey_metadata(case.container)
    assert (result.container, result.name) == (case.container, None)
    assert (result.outcome, result.detail) == (run.REKEYED, "old -> new")
    assert _line(result) == "re-keyed %s (old -> new)" % case.line
    assert case.secret_ids(store) == {"Color": "new", "Owner": "new"}
    assert store.meta[case.crypto + "Color"] != before[case.crypto + "Color"]
    # never plaintext, though the tool's encryption filter has the option off
    assert case.user + "Color" not in store.meta
    assert store.meta[case.user + "Temp-Url-Key"] == "plain-key"
    # readable with the new secret alone
    resp = call(encrypting_pipeline(store, NEW_ONLY), case.path, "HEAD")
    assert (resp.headers[case.user + "Color"], resp.headers[case.user + "Owner"]) == (
        "blue", "me")
    # and a second run has nothing to do
    assert tool(store).rekey_metadata(case.container).outcome == run.CURRENT


def test_only_values_under_another_secret_are_rewritten(case, store):
    case.post(store, ROTATED, Owner="you")  # written under the active secret already
    owner = store.meta[case.crypto + "Owner"]
    result = tool(store).rekey_metadata(case.container)
    assert (result.outcome, result.detail) == (run.REKEYED, "old -> new")
    assert case.secret_ids(store) == {"Color": "new", "Owner": "new"}
    assert store.meta[case.crypto + "Owner"] == owner
    resp = call(encrypting_pipeline(store, NEW_ONLY), case.path, "HEAD")
    assert (resp.headers[case.user + "Color"], resp.headers[case.user + "Owner"]) == (
        "blue", "you")


def test_dry_run_writes_nothing(case, store):
    before = dict(store.meta)
    rekeyer = tool(store)
    rekeyer.dry_run = True
    result = rekeyer.rekey_metadata(case.container)
    assert (result.outcome, result.detail) == (run.WOULD_REKEY, "old -> new")
    assert store.meta == before


def test_no_encrypted_metadata_is_not_counted(case):
    store = DbStore(case.level.kind, case.path)
    call(encrypting_pipeline(store, ROTATED), case.path, "POST",
         headers={case.user + "Color": "plain"})
    assert tool(store).rekey_metadata(case.container) is None


def test_a_value_changed_between_the_reads_is_left_alone(case, store):
    class Racing:
        """Changes Owner's stored value right after the decrypting HEAD."""

        def __init__(self, app):
            self.app = app
            self.heads = 0

        def __call__(self, environ, start_response):
            if environ["REQUEST_METHOD"] == "HEAD":
                self.heads += 1
                if self.heads == 3:  # the re-read before the POST
                    store.meta[case.crypto + "Owner"] = store.meta[case.crypto + "Color"]
            return self.app(environ, start_response)

    result = tool(Racing(store)).rekey_metadata(case.container)
    assert result.outcome == run.CONFLICT
    assert case.secret_ids(store) == {"Color": "new", "Owner": "old"}


def test_swifts_keymaster_gives_no_account_key_a_failure_not_a_stop():
    case = Case(ACCOUNT)
    store = DbStore("account", case.path)
    case.post(store, OLD_ONLY, Color="blue")
    app = swift_keymaster.filter_factory({}, encryption_root_secret=NEW)(
        encryption_factory({})(store))
    result = run.Rekeyer(app, "AUTH_a").rekey_metadata()
    assert result.outcome == run.FAILED
    assert "no account key" in result.detail
    assert case.secret_ids(store) == {"Color": "old"}


def test_swifts_keymaster_re_keys_container_metadata():
    # Swift's keymaster does give container keys, under the same derivation
    case = Case(CONTAINER)
    store = DbStore("container", case.path)
    case.post(store, OLD_ONLY, Color="blue")
    app = swift_keymaster.filter_factory(
        {}, encryption_root_secret_old=OLD, encryption_root_secret_new=NEW,
        active_root_secret_id="new")(encryption_factory({})(store))
    result = run.Rekeyer(app, "AUTH_a").rekey_metadata("c")
    assert (result.outcome, result.detail) == (run.REKEYED, "old -> new")
    resp = call(encrypting_pipeline(store, NEW_ONLY), case.path, "HEAD")
    assert resp.headers["X-Container-Meta-Color"] == "blue"


def two_levels():
    """An account store and a container store behind one app (account
    paths to the first, the rest to the second), each with a value under
    the old secret."""
    stores = DbStore("account", "/v1/AUTH_a"), DbStore("container", "/v1/AUTH_a/c")
    for level, store in zip((ACCOUNT, CONTAINER), stores):
        Case(level).post(store, OLD_ONLY, Color="blue")

    def app(environ, start_response):
        return stores[environ["PATH_INFO"].count("/") > 2](environ, start_response)
    return app, stores


def test_the_run_reports_account_then_container_metadata_before_objects():
    app, (account, container) = two_levels()
    reported = []
    counts = tool(app).run(report=reported.append)
    assert [_line(r) for r in reported[:2]] == [
        "re-keyed account metadata (old -> new)", "re-keyed container metadata c (old -> new)"]
    assert [r.name for r in reported[2:]] == ["o"]  # then the container's objects
    assert counts[run.REKEYED] == 2
    assert Case(ACCOUNT).secret_ids(account) == Case(CONTAINER).secret_ids(container) == {
        "Color": "new"}


def test_container_runs_re_key_only_that_containers_metadata():
    app, (account, container) = two_levels()
    reported = []
    counts = tool(app).run(container="c", report=reported.append)
    assert [(r.container, r.name, r.outcome) for r in reported[:1]] == [
        ("c", None, run.REKEYED)]
    assert counts[run.REKEYED] == 1
    # the account's metadata is left to full runs
    assert Case(ACCOUNT).secret_ids(account) == {"Color": "old"}


def test_limit_counts_metadata_and_later_runs_make_progress():
    app, (account, container) = two_levels()
    assert tool(app).run(limit=1)[run.REKEYED] == 1
    assert Case(ACCOUNT).secret_ids(account) == {"Color": "new"}
    assert Case(CONTAINER).secret_ids(container) == {"Color": "old"}
    # current metadata does not count towards the limit
    counts = tool(app).run(limit=1)
    assert (counts[run.CURRENT], counts[run.REKEYED]) == (1, 1)
    assert Case(CONTAINER).secret_ids(container) == {"Color": "new"}


def test_dry_run_of_both_levels_counts_them_and_writes_nothing():
    app, stores = two_levels()
    before = [dict(store.meta) for store in stores]
    rekeyer = tool(app)
    rekeyer.dry_run = True
    assert rekeyer.run()[run.WOULD_REKEY] == 2
    assert [store.meta for store in stores] == before
