"""``swiftcrypt rekey`` and encrypted account metadata: values under a
retired secret are re-encrypted under the active one (as sysmeta, never as
plaintext, whatever the tool's encryption options), current ones are left
alone, and the run reports one line for the account's metadata."""

import base64

import pytest
from swift.common.middleware.crypto import keymaster as swift_keymaster

from swiftcrypt import cryptometa, rekeyrun
from swiftcrypt.encryption import filter_factory as encryption_factory
from swiftcrypt.rekeycli import _line
from tests.support.dbstore import DbStore
from tests.support.pipelines import call, encrypting_pipeline

OLD = base64.b64encode(b"O" * 32).decode()
NEW = base64.b64encode(b"N" * 32).decode()
ACCOUNT = "/v1/AUTH_a"
CRYPTO = "X-Account-Sysmeta-Crypto-Meta-"
ROTATED = {"encryption_root_secret_old": OLD, "encryption_root_secret_new": NEW,
           "active_root_secret_id": "new"}


@pytest.fixture
def store():
    store = DbStore("account", ACCOUNT)
    old = encrypting_pipeline(store, {"encryption_root_secret_old": OLD,
                                      "active_root_secret_id": "old"},
                              encrypt_account_metadata="true")
    assert call(old, ACCOUNT, "POST", headers={
        "X-Account-Meta-Color": "blue", "X-Account-Meta-Owner": "me",
        "X-Account-Meta-Temp-Url-Key": "plain-key"}).status_int == 204
    return store


def secret_ids(store):
    return {name: cryptometa.extract(value)[1]["key_id"].get("secret_id")
            for name, value in store.meta.items() if name.startswith(CRYPTO)}


def tool(store, **encryption_conf):
    """The tool's pipeline: rotated keymaster, encryption (by default with
    the account option off), the store."""
    return rekeyrun.Rekeyer(encrypting_pipeline(store, ROTATED, **encryption_conf), "AUTH_a")


def test_stale_values_are_re_encrypted_under_the_active_secret(store):
    assert set(secret_ids(store).values()) == {"old"}
    before = dict(store.meta)
    result = tool(store).rekey_account_metadata()
    assert (result.outcome, result.detail) == (rekeyrun.REKEYED, "old -> new")
    assert _line(result) == "re-keyed account metadata (old -> new)"
    assert secret_ids(store) == {CRYPTO + "Color": "new", CRYPTO + "Owner": "new"}
    assert store.meta[CRYPTO + "Color"] != before[CRYPTO + "Color"]
    # never plaintext, though the tool's encryption filter has the option off
    assert "X-Account-Meta-Color" not in store.meta
    assert store.meta["X-Account-Meta-Temp-Url-Key"] == "plain-key"
    # readable with the new secret alone
    new_only = encrypting_pipeline(store, {"encryption_root_secret_new": NEW,
                                           "active_root_secret_id": "new"})
    resp = call(new_only, ACCOUNT, "HEAD")
    assert (resp.headers["X-Account-Meta-Color"], resp.headers["X-Account-Meta-Owner"]) == (
        "blue", "me")
    # and a second run has nothing to do
    assert tool(store).rekey_account_metadata().outcome == rekeyrun.CURRENT


def test_dry_run_writes_nothing(store):
    before = dict(store.meta)
    rekeyer = tool(store)
    rekeyer.dry_run = True
    assert rekeyer.rekey_account_metadata().outcome == rekeyrun.WOULD_REKEY
    assert store.meta == before


def test_no_encrypted_account_metadata_is_not_counted():
    store = DbStore("account", ACCOUNT)
    call(encrypting_pipeline(store, ROTATED), ACCOUNT, "POST",
         headers={"X-Account-Meta-Color": "plain"})
    assert tool(store).rekey_account_metadata() is None


def test_a_value_changed_between_the_reads_is_left_alone(store):
    class Racing:
        """Changes Owner's stored value right after the decrypting HEAD."""

        def __init__(self, app):
            self.app = app
            self.heads = 0

        def __call__(self, environ, start_response):
            if environ["REQUEST_METHOD"] == "HEAD":
                self.heads += 1
                if self.heads == 3:  # the re-read before the POST
                    store.meta[CRYPTO + "Owner"] = store.meta[CRYPTO + "Color"]
            return self.app(environ, start_response)

    racing = Racing(store)
    rekeyer = rekeyrun.Rekeyer(encrypting_pipeline(racing, ROTATED), "AUTH_a")
    result = rekeyer.rekey_account_metadata()
    assert result.outcome == rekeyrun.CONFLICT
    assert secret_ids(store) == {CRYPTO + "Color": "new", CRYPTO + "Owner": "old"}


def test_swifts_keymaster_gives_no_account_key_a_failure_not_a_stop(store):
    app = swift_keymaster.filter_factory({}, encryption_root_secret=NEW)(
        encryption_factory({})(store))
    result = rekeyrun.Rekeyer(app, "AUTH_a").rekey_account_metadata()
    assert result.outcome == rekeyrun.FAILED
    assert "no account key" in result.detail
    assert set(secret_ids(store).values()) == {"old"}


def test_the_run_reports_the_account_metadata_first(store):
    reported = []
    counts = tool(store).run(report=reported.append)
    assert reported[0].container is None and reported[0].outcome == rekeyrun.REKEYED
    assert counts[rekeyrun.REKEYED] == 1
    # --container runs leave the account's metadata to full runs
    store2 = DbStore("account", ACCOUNT)
    store2.by_path = {ACCOUNT: dict(store.meta)}
    assert tool(store2).run(container="c", report=reported.append)[rekeyrun.REKEYED] == 0
