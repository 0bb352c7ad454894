"""``swiftcrypt keys account|rotate|shred`` against an in-memory key manager."""

import datetime
import io

import pytest

from swiftcrypt.keymasters import account_secrets

from swiftcrypt.cli import keys
from swiftcrypt.cli import build_parser
from swiftcrypt.keymanager.base import AccessDenied
from tests.unit.test_account_keys import T0, FakeAccountKeyManager

NAME = "swiftcrypt-account:AUTH_a"


@pytest.fixture
def km(monkeypatch):
    manager = FakeAccountKeyManager()
    monkeypatch.setattr(keys, "account_manager", lambda args: (manager, 0))
    return manager


def run(*argv):
    args = build_parser(["keys"] + list(argv)).parse_args(["keys"] + list(argv))
    out, err = io.StringIO(), io.StringIO()
    status = keys.run(args, out, err)
    return status, out.getvalue(), err.getvalue()


def test_shred_needs_yes_and_deletes_every_secret_of_the_account(km):
    a1, a2 = km.add(NAME), km.add(NAME)
    b = km.add("swiftcrypt-account:AUTH_b")
    other = km.add("swiftcrypt-account:AUTH_aa")  # a LIKE-alike must survive
    status, out, _err = run("shred", "--account", "AUTH_a")
    assert status == keys.EXIT_USAGE and "would delete %s" % a1 in out
    assert "nothing deleted" in out and len(km.secrets) == 4
    status, out, _err = run("shred", "--account", "AUTH_a", "--yes")
    assert status == 0
    assert "deleted %s" % a1 in out and "deleted %s" % a2 in out
    assert set(km.secrets) == {b, other}
    for payload in (km.payload(b), km.payload(other)):
        assert payload.hex() not in out
    status, out, _err = run("shred", "--account", "AUTH_a", "--yes")
    assert status == keys.EXIT_WRONG and "no root secret" in out


def test_shred_one_secret_id(km):
    a1, a2 = km.add(NAME), km.add(NAME)  # a1 wins the race: writes use it
    status, out, _err = run("shred", "--account", "AUTH_a", "--secret-id", a2, "--yes")
    assert status == 0 and set(km.secrets) == {a1}
    status, _out, err = run("shred", "--account", "AUTH_a", "--secret-id", "nope", "--yes")
    assert status == keys.EXIT_USAGE and err.count("\n") == 1 and "--secret-id" in err


def test_shred_refuses_the_secret_writes_use_without_force(km):
    old = km.add(NAME, created=T0)
    new = km.add(NAME, created=T0 + datetime.timedelta(days=1))
    for extra in ((), ("--yes",)):
        status, out, err = run("shred", "--account", "AUTH_a", "--secret-id", new, *extra)
        assert status == keys.EXIT_USAGE and err.count("\n") == 1
        assert "writes with now" in err and "--force" in err and len(km.secrets) == 2
    status, out, _err = run("shred", "--account", "AUTH_a", "--secret-id", new, "--yes",
                            "--force")
    assert status == 0 and set(km.secrets) == {old}


def test_rotate_with_clock_skew_takes_the_new_secret_back(km):
    """Our clock says the window has passed, the key manager's does not:
    its creation times decide, so the new secret would never be written
    with; rotate deletes it and says so instead of claiming success."""
    barbican_now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    old = km.add(NAME, created=barbican_now)
    add = km.add
    km.add = lambda name, payload=None, created=None, key_id=None: add(
        name, payload, barbican_now + datetime.timedelta(seconds=50), key_id)
    args = build_parser(["keys", "rotate"]).parse_args(["keys", "rotate", "--account",
                                                        "AUTH_a"])
    out = io.StringIO()
    with pytest.raises(keys.ConfigError) as err:
        keys.do_rotate(args, out, manager=km, retries=0,
                          now=barbican_now + datetime.timedelta(seconds=65))
    assert "clock skew" in str(err.value) and "rotate again after" in str(err.value)
    assert "\n" not in str(err.value) and out.getvalue() == ""
    assert set(km.secrets) == {old}
    assert account_secrets.canonical(km.list_secrets(NAME)).key_id == old


def test_shred_reports_a_refused_delete(km):
    a1 = km.add(NAME)
    original = km.delete_secret

    def refuse(key_id):
        raise AccessDenied(key_id, "Fake refused access (403)")

    km.delete_secret = refuse
    status, out, _err = run("shred", "--account", "AUTH_a", "--yes")
    assert status == keys.EXIT_WRONG and "NOT deleted %s" % a1 in out
    km.delete_secret = original


def test_account_lists_secrets_and_the_canonical(km):
    status, out, _err = run("account", "--account", "AUTH_a")
    assert status == keys.EXIT_WRONG and "no root secret" in out
    a1 = km.add(NAME, created=T0)
    a2 = km.add(NAME, created=T0 + datetime.timedelta(seconds=2))  # a lost race
    status, out, _err = run("account", "--account", "AUTH_a")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(a1) and lines[0].endswith("(writes use it)")
    assert lines[1].startswith(a2) and "writes" not in lines[1]


def test_rotate_adds_the_secret_writes_use(km):
    old = km.add(NAME, created=T0 - datetime.timedelta(days=1))
    status, out, _err = run("rotate", "--account", "AUTH_a")
    assert status == 0
    new = out.splitlines()[0]
    assert new in km.secrets and new != old and "rekey" in out
    infos = km.list_secrets(NAME)
    assert account_secrets.canonical(infos).key_id == new


def test_rotate_refuses_within_the_generation_window(km):
    now = datetime.datetime.now(datetime.timezone.utc)
    km.add(NAME, created=now)
    status, _out, err = run("rotate", "--account", "AUTH_a")
    assert status == keys.EXIT_USAGE and "rotate again" in err
    assert len(km.secrets) == 1


def test_account_options_from_a_config_file(tmp_path):
    path = tmp_path / "proxy.conf"
    path.write_text("[filter:account_keymaster]\nuse = egg:swiftcrypt#account_keymaster\n"
                    "auth_type = noauth\nbarbican_endpoint = http://b:9311\n"
                    "project_id = p\ntimeout = 7\n")
    args = build_parser(["keys"]).parse_args(
        ["keys", "shred", "--account", "A", "--config", str(path), "--timeout", "2"])
    manager, retries = keys.account_manager(args)
    assert manager.options.timeout == 2.0 and manager.options.barbican_endpoint == \
        "http://b:9311"
    empty = tmp_path / "empty.conf"
    empty.write_text("[other]\n")
    args = build_parser(["keys"]).parse_args(
        ["keys", "shred", "--account", "A", "--config", str(empty)])
    _out, err = io.StringIO(), io.StringIO()
    assert keys.run(args, _out, err) == keys.EXIT_USAGE
    assert "account_keymaster" in err.getvalue()
