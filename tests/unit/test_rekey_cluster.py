"""The cluster-scale parts of ``swiftcrypt rekey`` against scripted
backends: concurrency (counts, limit, a stop), the checkpoint position and
its file, the split between processes, the token bucket (with a fake
clock) and the progress line."""

import json

import eventlet
import pytest

from swiftcrypt.cli import accountselect

from swiftcrypt.cli import rekey as rekeycli

from swiftcrypt.rekey import run as rekeyrun

from swiftcrypt.rekey import state as rekeystate
from swiftcrypt.rekey.progress import Progress
from swiftcrypt.rekey.tokenbucket import TokenBucket
from tests.unit.test_rekey_run import Backend

NAMES = ["o%03d" % i for i in range(40)]


class SlowBackend(Backend):
    """Lists NAMES in one container; each PUT yields to other green threads
    (as a real backend's socket I/O does) and is watched for overlap."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.in_flight = self.most = 0
        self.put_paths = []

    def listing(self, environ, start_response):
        query = environ["QUERY_STRING"]
        marker = query.split("marker=")[1].split("&")[0] if "marker=" in query else ""
        if environ["PATH_INFO"].count("/") == 2:  # the account: one container
            names = [] if marker else ["c"]
        else:
            names = [n for n in NAMES if n > marker]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([{"name": n} for n in names]).encode()]

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT":
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            eventlet.sleep(0.001)
            self.in_flight -= 1
            self.put_paths.append(environ["PATH_INFO"])
        return super().__call__(environ, start_response)


def test_concurrency_overlaps_and_counts_every_object_once():
    backend = SlowBackend()
    reported = []
    counts = rekeyrun.Rekeyer(backend, "AUTH_a").run(
        "c", report=reported.append, concurrency=8)
    assert counts[rekeyrun.REKEYED] == len(NAMES)
    assert sorted(r.name for r in reported) == NAMES
    assert sorted(backend.put_paths) == ["/v1/AUTH_a/c/" + n for n in NAMES]
    assert 1 < backend.most <= 8


@pytest.mark.parametrize("concurrency", [1, 3, 16])
def test_limit_is_exact_with_concurrency(concurrency):
    backend = SlowBackend()
    counts = rekeyrun.Rekeyer(backend, "AUTH_a").run("c", limit=5, concurrency=concurrency)
    assert counts[rekeyrun.REKEYED] == 5 and len(backend.put_paths) == 5


def test_a_stop_in_a_green_thread_stops_the_run_after_the_others_land():
    backend = SlowBackend()
    calls = []

    def head_then_stop(environ, start_response):
        if environ["REQUEST_METHOD"] == "HEAD" and environ["PATH_INFO"].endswith("o010"):
            raise rekeyrun.StopRun("stop here")
        calls.append(environ["PATH_INFO"])
        return backend(environ, start_response)

    pos = rekeystate.Position()
    with pytest.raises(rekeyrun.StopRun, match="stop here"):
        rekeyrun.Rekeyer(head_then_stop, "AUTH_a").run("c", concurrency=4, position=pos)
    assert not pos.is_done("o010") and pos.mark < "o010"


def test_position_mark_moves_over_finished_names_without_gaps():
    pos = rekeystate.Position()
    pos.enter("c")
    for name in ("a", "b", "c", "d"):
        pos.start(name)
    pos.finish("b")
    pos.finish("d")
    assert pos.mark == "" and pos.done_after == {"b", "d"}
    pos.finish("a")
    assert pos.mark == "b" and pos.done_after == {"d"}
    assert pos.is_done("a") and pos.is_done("d") and not pos.is_done("c")
    again = rekeystate.Position(json.loads(json.dumps(pos.to_json())))
    again.enter("c")  # resumed: same container, same position
    assert again.mark == "b" and again.is_done("d") and not again.is_done("c")
    assert again.passed("b") and not again.passed("c")  # containers before c are done
    again.leave("c")
    assert again.passed("c") and not again.passed("d")


def test_resume_redoes_only_what_was_not_finished():
    backend = SlowBackend()
    pos = rekeystate.Position()
    rekeyrun.Rekeyer(backend, "AUTH_a").run("c", limit=7, concurrency=3, position=pos)
    first = list(backend.put_paths)
    assert len(first) == 7
    resumed = rekeystate.Position(json.loads(json.dumps(pos.to_json())))
    backend.put_paths.clear()
    counts = rekeyrun.Rekeyer(backend, "AUTH_a").run("c", concurrency=3, position=resumed)
    assert sorted(first + backend.put_paths) == ["/v1/AUTH_a/c/" + n for n in NAMES]
    assert counts[rekeyrun.REKEYED] == len(NAMES)  # the pass's counts, both runs


def test_state_file_refuses_foreign_and_unreadable_files(tmp_path):
    path = str(tmp_path / "state")
    ident = rekeystate.identity("rekey.conf", ["AUTH_a"], dry_run=False)
    state = rekeystate.StateFile(path, ident)
    state.position("AUTH_a").mark = "x"
    state.save(force=True)
    before = open(path).read()
    assert rekeystate.StateFile(path, ident).positions["AUTH_a"].mark == "x"
    other = rekeystate.identity("rekey.conf", ["AUTH_b"], dry_run=False)
    with pytest.raises(rekeystate.StateError, match="belongs to another run .its accounts"):
        rekeystate.StateFile(path, other)
    assert open(path).read() == before
    (tmp_path / "junk").write_text("{not json")
    with pytest.raises(rekeystate.StateError, match="unreadable"):
        rekeystate.StateFile(str(tmp_path / "junk"), ident)
    (tmp_path / "other").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(rekeystate.StateError, match="not a re-key state file"):
        rekeystate.StateFile(str(tmp_path / "other"), ident)


def test_a_complete_pass_starts_over(tmp_path):
    path = str(tmp_path / "state")
    ident = rekeystate.identity("rekey.conf", "all")
    state = rekeystate.StateFile(path, ident)
    state.position("AUTH_a").finished = True
    state.save(force=True, complete=True)
    again = rekeystate.StateFile(path, ident)
    assert not again.resumed and again.positions == {}


def test_state_is_saved_at_most_once_a_period(tmp_path):
    now = [0.0]
    path = tmp_path / "state"
    state = rekeystate.StateFile(str(path), rekeystate.identity("c", ["a"]), every=1.0,
                                 clock=lambda: now[0])
    state.save()
    first = path.stat().st_mtime_ns
    path.unlink()
    state.save()
    assert not path.exists()
    now[0] = 1.5
    state.save()
    assert path.exists() and first


def test_process_shares_are_disjoint_and_cover_everything():
    items = ["AUTH_a/c/%d" % i for i in range(300)]
    shares = [accountselect.share(3, i) for i in range(3)]
    owners = [[share(item) for share in shares].count(True) for item in items]
    assert owners == [1] * len(items)
    assert all(20 < sum(share(item) for item in items) for share in shares)
    assert accountselect.share(1, 0) is None


def test_token_bucket_with_a_fake_clock():
    now = [0.0]
    bucket = TokenBucket(10, clock=lambda: now[0])
    assert [bucket.take() for _ in range(10)] == [0.0] * 10  # a second's burst
    assert bucket.take() == pytest.approx(0.1)
    assert bucket.take() == pytest.approx(0.2)  # queued behind the previous one
    now[0] = 0.2
    assert bucket.take() == pytest.approx(0.1)
    # over a long run the grants keep to the rate: 100 units, 10 a second
    now[0] = 100.0
    bucket = TokenBucket(10, clock=lambda: now[0])
    granted_at = []
    for _ in range(100):
        wait = bucket.take()
        now[0] += wait
        granted_at.append(now[0])
    assert granted_at[-1] - granted_at[0] == pytest.approx(9.0)  # 90 after the burst of 10
    # one request larger than the burst goes at once and the next ones pay for it
    bucket = TokenBucket(100, clock=lambda: now[0])
    assert bucket.take(500) == 0.0
    assert bucket.take(1) == pytest.approx(4.01)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_throttle_applies_both_limits():
    class Args:
        max_ops, max_bytes = 2, 1000
    assert rekeycli._throttle(Args) is not None

    class NoLimits:
        max_ops = max_bytes = None
    assert rekeycli._throttle(NoLimits) is None


def test_progress_line_and_quiet_when_off():
    import io
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, enabled=True, clock=lambda: now[0])
    progress.total = 100
    now[0] = 10.0
    for _ in range(20):
        progress.done(rekeyrun.Result("c", "o", rekeyrun.REKEYED, size=1024 * 1024))
    assert progress.line() == ("20/100 items, 20.0 MiB rewritten, 2.0 items/s, 2.0 MiB/s, "
                               "ETA 0m40s")
    assert out.getvalue().startswith("\r\x1b[K")
    progress.clear()
    quiet = io.StringIO()
    off = Progress(quiet, enabled=False)
    off.done(rekeyrun.Result("c", "o", rekeyrun.CURRENT))
    off.clear()
    assert quiet.getvalue() == "" and off.items == 1


def test_usage_says_unused_only_after_a_complete_scan():
    from swiftcrypt.rekey import usage as keyusage

    usage = keyusage.Usage(["B", "A"])
    usage.add(["B", "B"], keyusage.OBJECTS)  # one object, two parts under B
    usage.add(["X"], keyusage.LISTING)
    assert usage.counts["B"][keyusage.OBJECTS] == 1 and usage.unused() == ["A"]
    lines = keyusage.lines(usage)
    assert lines[0] == ("secret A: objects 0, listing entries 0, account metadata 0, "
                        "container metadata 0 (unused)")
    assert lines[2].startswith("secret X: ") and "not held by the keymaster" in lines[2]
    usage.problems.append("AUTH_a/c/o: HEAD answered 503")
    assert usage.unused() is None
    lines = keyusage.lines(usage)
    assert not any("(unused)" in line for line in lines)
    assert lines[-1].endswith("unreadable 1 (incomplete: no secret can be said unused)")


def test_usage_of_a_scripted_account_reads_raw_headers_only():
    from swiftcrypt.rekey import usage as keyusage

    backend = SlowBackend()
    usage = keyusage.Usage(["A", "B"])
    keyusage.scan_account(backend, "AUTH_a", usage)
    assert usage.counts["A"][keyusage.OBJECTS] == len(NAMES) and usage.unused() == ["B"]
    methods = {m for m, env, _b in backend.requests}
    assert methods == {"HEAD", "GET"}  # GETs: listings only
    assert all(env.get("swift.crypto.override") for _m, env, _b in backend.requests)


def test_the_throttle_is_asked_for_an_op_per_item_and_the_bytes_of_each_rewrite():
    calls = []
    backend = SlowBackend()
    rekeyrun.Rekeyer(backend, "AUTH_a", throttle=lambda ops, nbytes: calls.append(
        (ops, nbytes))).run("c", limit=3)
    # the container's own HEAD, then per object: its HEAD, then its 5 bytes
    assert calls == [(1, 0)] + [(1, 0), (0, 5)] * 3
    current = Backend(secret_id="B")
    calls.clear()
    rekeyrun.Rekeyer(current, "AUTH_a", throttle=lambda ops, nbytes: calls.append(
        (ops, nbytes))).rekey_object("c", "o")
    assert calls == [(1, 0)]  # nothing rewritten: no bytes


def test_usage_names_account_secrets_held_and_unused():
    from swiftcrypt.rekey import usage as keyusage

    usage = keyusage.Usage()
    usage.hold(["old-uuid", "new-uuid"], "AUTH_a")
    usage.add(["new-uuid"], keyusage.OBJECTS)
    assert usage.unused() == ["old-uuid"]
    assert usage.to_json()["account secrets"] == {"old-uuid": "AUTH_a", "new-uuid": "AUTH_a"}
    lines = keyusage.lines(usage)
    assert lines[1] == ("secret old-uuid (account AUTH_a): objects 0, listing entries 0, "
                        "account metadata 0, container metadata 0 (unused)")
    assert lines[0].startswith("secret new-uuid (account AUTH_a): objects 1,")
