"""``swiftcrypt rekey`` at cluster scale over the embedded store: many
accounts (--all-accounts), objects of every kind the store holds, account
and container metadata, two processes splitting the work at
--concurrency 4, one of them killed mid-way and resumed from its --state
file, while a client writes racing them; afterwards nothing is under the
old secret, it is removed, and everything reads as the client last wrote
it. Bad input is refused with one line and exit status 2, nothing written.

Scale: SWIFTCRYPT_REKEY_ACCOUNTS (default 8) and SWIFTCRYPT_REKEY_OBJECTS
(default 240, spread over the accounts); the issue's 50 and 10000 run the
same code.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from swiftcrypt import cli

from swiftcrypt.rekey import plan
from swiftcrypt.crypto.account_container_metadata import ACCOUNT as ACCOUNT_LEVEL
from swiftcrypt.crypto.account_container_metadata import CONTAINER
from tests.functional.test_rekey_standalone import SECRETS, Setup  # noqa: F401
from tests.support.rekeying import request, summary_counts

ACCOUNTS = int(os.environ.get("SWIFTCRYPT_REKEY_ACCOUNTS", "8"))
OBJECTS = int(os.environ.get("SWIFTCRYPT_REKEY_OBJECTS", "240"))
OVERRIDE = {"swift.crypto.override": True}
# a ceiling per command, not a measurement: grows with the scale asked for
TIMEOUT = 300 * max(1, OBJECTS // 1000)


def account_names():
    return ["AUTH_r%03d" % i for i in range(ACCOUNTS)]


def kinds(i):
    """``(container, name, body, headers)`` of the i-th object of an account."""
    cont = "c%d" % (i % 3)
    kind = i % 6
    if kind == 0:
        return cont, "plain-%d" % i, os.urandom(1000 + i), []
    if kind == 1:
        return cont, "meta-%d" % i, b"m" * i, [("X-Object-Meta-Color", "blue-%d" % i)]
    if kind == 2:
        return cont, "empty-%d" % i, b"", []
    if kind == 3:
        return cont, "empty-meta-%d" % i, b"", [("X-Object-Meta-Tag", "t%d" % i)]
    if kind == 4:
        return cont, "d\xc3\xafr/\xc3\xbcni-%d" % i, b"unicode %d" % i, []
    return cont, "expiring-%d" % i, b"e%d" % i, [
        ("X-Delete-At", str(int(time.time()) + 3600)), ("Content-Type", "text/x-e")]


def populate(setup):
    """Everything under secret A; returns {(account, container, name): body}."""
    client = setup.client(["A"], "A", encrypt_meta=True)
    per_account = max(1, OBJECTS // ACCOUNTS)
    written = {}
    for account in account_names():
        assert request(client, "POST", account, headers=[
            ("X-Account-Meta-Owner", "owner of " + account)]).status == 204
        for c in range(3):
            resp = request(client, "PUT", account, "c%d" % c,
                           headers=[("X-Container-Meta-Note", "note %d" % c)])
            assert resp.status in (201, 202)
        for i in range(per_account):
            cont, name, body, headers = kinds(i)
            resp = request(client, "PUT", account, cont, name, headers=headers, body=body)
            assert resp.status == 201, resp.data
            written[(account, cont, name)] = body
    return written


def secrets_in_use(app, written):
    """The secret ids any object, account or container metadata value is
    under, read raw (``app`` without gatekeeper)."""
    found = set()
    for account in account_names():
        resp = request(app, "HEAD", account, environ=OVERRIDE)
        found |= set(plan.meta_secret_ids(resp.headers, ACCOUNT_LEVEL.crypto_prefix).values())
        for c in range(3):
            resp = request(app, "HEAD", account, "c%d" % c, environ=OVERRIDE)
            found |= set(plan.meta_secret_ids(resp.headers, CONTAINER.crypto_prefix).values())
    for account, cont, name in written:
        resp = request(app, "HEAD", account, cont, name, environ=OVERRIDE)
        assert resp.status == 200, (account, cont, name)
        found |= set(plan.secret_ids(resp.headers).values())
    return found


def cli_run(capsys, *args):
    status = cli.main(["rekey", *args])
    out, err = capsys.readouterr()
    return status, out, err


def spawn(*args):
    return subprocess.Popen([sys.executable, "-m", "swiftcrypt.cli", "rekey", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def verbose_items(out, outcome):
    prefix = outcome + " "
    return [line[len(prefix):].rsplit(" (", 1)[0] for line in out.splitlines()
            if line.startswith(prefix)]


def wait_for_progress(path, proc, timeout=60):
    """Until the state file at ``path`` shows a re-keyed object."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        try:
            with open(path) as fh:
                accounts = json.load(fh)["accounts"]
        except (OSError, ValueError):
            accounts = {}
        # killed only once it saved a rewrite: its first items may all be
        # current, and "killed mid-way" means it had re-keyed
        if any(pos["counts"].get("re-keyed") for pos in accounts.values()):
            return
        time.sleep(0.05)
    raise AssertionError("no rewrite saved in %ss" % timeout)


@pytest.fixture
def setup(tmp_path):
    return Setup(tmp_path)


def test_bad_input_is_refused_with_one_line_and_nothing_written(setup, capsys, tmp_path):
    written = populate(setup)
    conf = setup.rekey_conf()
    raw = setup.internal(["A", "B"], "B")
    state = tmp_path / "state.json"
    (tmp_path / "accounts").write_text("AUTH_r000\nAUTH_nobody\n")
    junk = tmp_path / "junk.json"
    junk.write_text("{half a state")
    binary = tmp_path / "binary.state"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    summary = tmp_path / "summary.json"  # JSON, but a --json summary, not a state file
    summary.write_text('{"accounts": {}, "dry_run": false, "secrets": {}}')
    cases = [
        (["--account", "AUTH_nobody"], "account AUTH_nobody: no such account"),
        (["--accounts-from", str(tmp_path / "accounts")], "account AUTH_nobody: no such"),
        (["--accounts-from", str(tmp_path / "missing")], "cannot read --accounts-from"),
        (["--all-accounts", "--processes", "2", "--process", "2"],
         "--process 2 is out of range: 0 to 1 with --processes 2"),
        (["--all-accounts", "--process", "1"], "--process 1 is out of range: 0 to 0"),
        (["--all-accounts", "--state", str(junk)], "is unreadable"),
        (["--all-accounts", "--state", str(binary)], "is unreadable (not UTF-8 text)"),
        (["--all-accounts", "--state", str(summary)], "is unreadable (not a re-key state"),
        (["--all-accounts", "--state", str(tmp_path)], "cannot read state file"),
    ]
    for args, message in cases:
        status, out, err = cli_run(capsys, "--config", conf, *args)
        assert (status, out) == (2, ""), (args, out, err)
        assert err.count("\n") == 1 and message in err, (args, err)
    # a state file of another run (another account selection) is refused, unchanged
    status, _, err = cli_run(capsys, "--config", conf, "--account", "AUTH_r000",
                             "--state", str(state), "--limit", "1")
    assert status == 0, err
    before = state.read_bytes()
    status, out, err = cli_run(capsys, "--config", conf, "--all-accounts", "--state", str(state))
    assert (status, out) == (2, "") and err.count("\n") == 1
    assert "belongs to another run (its accounts differs)" in err
    assert state.read_bytes() == before and junk.read_text() == "{half a state"
    assert binary.read_bytes() == b"\xff\xfe\x00 not text"
    # only the one --limit 1 item moved to B
    assert secrets_in_use(raw, written) == {"A", "B"}
    moved = summary_counts(cli_run(capsys, "--config", conf, "--all-accounts", "--dry-run")[1])
    assert moved["would re-key"] > 0


def test_two_processes_one_killed_and_resumed_with_racing_writes(setup, capsys, tmp_path):
    started = time.time()
    written = populate(setup)
    conf = setup.rekey_conf()
    states = [str(tmp_path / ("state-%d.json" % i)) for i in range(2)]
    common = ["--config", conf, "--all-accounts", "--concurrency", "4", "--processes", "2",
              "--verbose"]
    # process 0 is slowed down (--max-ops) so that it is killed mid-way
    first = spawn(*common, "--process", "0", "--state", states[0], "--max-ops", "40")
    other = spawn(*common, "--process", "1", "--state", states[1],
                  "--json", str(tmp_path / "p1.json"))
    # a client (through the rotated proxies) writes while they run
    rotated = setup.client(["A", "B"], "B")
    raced = sorted(written)[::7]
    for account, cont, name in raced:
        body = b"client wrote this while the re-key ran " + name.encode("latin-1")
        assert request(rotated, "PUT", account, cont, name, body=body).status == 201
        written[(account, cont, name)] = body
    wait_for_progress(states[0], first)
    first.send_signal(signal.SIGKILL)
    killed_out, killed_err = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    out1, err1 = other.communicate(timeout=TIMEOUT)
    assert other.returncode == 0, err1
    resumed = spawn(*common, "--process", "0", "--state", states[0])
    out0, err0 = resumed.communicate(timeout=TIMEOUT)
    assert resumed.returncode == 0, err0
    assert "resuming from " + states[0] in err0
    assert "\r" not in err0 + err1  # no progress line when not a terminal

    # no object rewritten twice; each process only its own share
    rekeyed = verbose_items(killed_out, "re-keyed") + verbose_items(out0, "re-keyed") + \
        verbose_items(out1, "re-keyed")
    assert len(rekeyed) == len(set(rekeyed))
    share0 = verbose_items(killed_out + out0, "re-keyed") + verbose_items(
        killed_out + out0, "current") + verbose_items(killed_out + out0, "conflict")
    share1 = verbose_items(out1, "re-keyed") + verbose_items(out1, "current") + \
        verbose_items(out1, "conflict")
    assert not set(share0) & set(share1)
    # the kill came mid-way: both runs of process 0 rewrote objects
    assert verbose_items(killed_out, "re-keyed") and verbose_items(out0, "re-keyed")
    # the resumed run did not start again from the beginning
    seen_after_resume = len([ln for ln in out0.splitlines() if not ln.startswith("account ")])
    assert seen_after_resume < len(share0)
    summary1 = json.loads((tmp_path / "p1.json").read_text())
    assert set(summary1["accounts"]) == set(account_names())
    assert summary1["secrets"]["A"]["re-keyed"] > 0
    assert sum(a["re-keyed"] for a in summary1["accounts"].values()) == \
        len(verbose_items(out1, "re-keyed"))

    # everything is under B now: a second pass finds nothing; A can go
    raw = setup.internal(["A", "B"], "B")
    assert secrets_in_use(raw, written) == {"B"}
    status, out, err = cli_run(capsys, "--config", conf, "--all-accounts", "--dry-run")
    assert status == 0, err
    for line in out.splitlines():
        assert ", would re-key 0, conflicts 0, failures 0" in line, line
    only_b = setup.client(["B"], "B")
    for (account, cont, name), body in written.items():
        got = request(only_b, "GET", account, cont, name)
        assert got.status == 200 and got.data == body, (account, cont, name)
    for account in account_names():
        got = request(only_b, "HEAD", account)
        assert got.header("X-Account-Meta-Owner") == "owner of " + account
        got = request(only_b, "HEAD", account, "c1")
        assert got.header("X-Container-Meta-Note") == "note 1"
    print("%d accounts, %d objects: %.1fs" % (ACCOUNTS, len(written), time.time() - started))


def keys_usage(capsys, conf, *args):
    status = cli.main(["keys", "usage", "--config", conf, *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_keys_usage_proves_a_secret_unused_and_it_is_retired(setup, capsys, tmp_path):
    written = populate(setup)
    conf = setup.rekey_conf()
    status, out, err = keys_usage(capsys, conf, "--all-accounts", "--json",
                                  str(tmp_path / "usage.json"))
    assert status == 0, err
    per_account = max(1, OBJECTS // ACCOUNTS)
    encrypted = sum(1 for body in written.values() if body) + \
        sum(1 for (_a, _c, name) in written if name.startswith("empty-meta"))
    assert encrypted < len(written) and per_account >= 6  # some objects have nothing to encrypt
    usage = json.loads((tmp_path / "usage.json").read_text())
    assert usage["secrets"]["A"] == {"objects": encrypted, "listing entries": encrypted - sum(
        1 for (_a, _c, name) in written if name.startswith("empty-meta")),
        "account metadata": ACCOUNTS, "container metadata": 3 * ACCOUNTS}
    assert usage["secrets"]["B"] == dict.fromkeys(usage["secrets"]["B"], 0)
    assert usage["unused"] == ["B"] and usage["problems"] == 0
    assert "secret B: objects 0, listing entries 0, account metadata 0, " \
        "container metadata 0 (unused)" in out
    # bad input: one line, exit 2, nothing written
    for args, message in [
            (["--account", "AUTH_nobody"], "account AUTH_nobody: no such account"),
            (["--all-accounts", "--processes", "2", "--process", "2"],
             "--process 2 is out of range: 0 to 1 with --processes 2"),
            (["--accounts-from", str(tmp_path / "missing")], "cannot read --accounts-from"),
            (["--all-accounts", "--json", str(tmp_path / "no-dir" / "u.json")],
             "cannot write --json")]:
        status, out, err = keys_usage(capsys, conf, *args)
        assert (status, out) == (2, "") and err.count("\n") == 1, (args, out, err)
        assert err.startswith("swiftcrypt keys usage: ") and message in err, (args, err)

    status, out, err = cli_run(capsys, "--config", conf, "--all-accounts", "--concurrency", "4")
    assert status == 0, err
    status, out, err = keys_usage(capsys, conf, "--all-accounts")
    assert status == 0, err
    assert "secret A: objects 0, listing entries 0, account metadata 0, " \
        "container metadata 0 (unused)" in out
    assert "secret B: objects %d," % encrypted in out
    # the process shares add up to the whole
    shares = []
    for process in range(2):
        keys_usage(capsys, conf, "--all-accounts", "--processes", "2", "--process",
                   str(process), "--json", str(tmp_path / ("share%d.json" % process)))
        shares.append(json.loads((tmp_path / ("share%d.json" % process)).read_text()))
    assert sum(s["secrets"]["B"]["objects"] for s in shares) == encrypted
    assert all(0 < s["secrets"]["B"]["objects"] < encrypted for s in shares)

    # A retired: a pipeline holding only B reads every object and metadata value
    only_b = setup.client(["B"], "B", encrypt_meta=True)
    for (account, cont, name), body in written.items():
        got = request(only_b, "GET", account, cont, name)
        assert got.status == 200 and got.data == body, (account, cont, name)
    for account in account_names():
        assert request(only_b, "HEAD", account).header("X-Account-Meta-Owner") == \
            "owner of " + account
        assert request(only_b, "HEAD", account, "c2").header("X-Container-Meta-Note") == \
            "note 2"
    # with B's own pipeline the inventory says so too (A is not held any more)
    status, out, err = keys_usage(capsys, setup.conf("only-b.conf", ["B"], "B"),
                                  "--all-accounts")
    assert status == 0 and "secret A" not in out and "(unused)" not in out, out + err


def test_racing_client_writes_win_at_concurrency(setup):
    """At --concurrency 8, a client write landing between the tool's read
    and its rewrite of an object wins (a conflict, counted once), for
    every such object, and the others are re-keyed."""
    from swiftcrypt.rekey import run
    from swiftcrypt.cli.rekey import load_pipeline

    written = populate(setup)
    account = account_names()[0]
    rotated = setup.client(["A", "B"], "B")
    raced = {key for key in written if key[0] == account and key[2].startswith("plain")}
    assert len(raced) >= 2
    tool = load_pipeline(setup.rekey_conf())

    def racing(environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT":
            _v1, acc, cont, name = environ["PATH_INFO"].split("/", 4)[1:]
            key = (acc, cont, name)
            if key in raced:
                body = b"the client's newer write"
                resp = request(rotated, "PUT", *key, body=body)
                assert resp.status == 201
                written[key] = body
        return tool(environ, start_response)

    counts = run.Rekeyer(racing, account).run(concurrency=8)
    assert counts[run.CONFLICT] == len(raced)
    assert counts[run.FAILED] == 0 and counts[run.REKEYED] > len(raced)
    only_b = setup.client(["B"], "B")
    for key, body in written.items():
        if key[0] == account:
            got = request(only_b, "GET", *key)
            assert got.status == 200 and got.data == body, key


def test_unwritable_state_or_json_is_refused_before_anything_is_written(setup, capsys,
                                                                        tmp_path):
    written = populate(setup)
    conf = setup.rekey_conf()
    raw = setup.internal(["A", "B"], "B")
    for option, message in (("--state", "cannot write state file"),
                            ("--json", "cannot write --json")):
        status, out, err = cli_run(capsys, "--config", conf, "--all-accounts", option,
                                   str(tmp_path / "no-such-dir" / "file"))
        assert (status, out) == (2, "") and err.count("\n") == 1 and message in err, err
    assert secrets_in_use(raw, written) == {"A"}
