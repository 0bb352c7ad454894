"""The secret cache's single flight and background refresh under eventlet
as `swiftcrypt serve` patches it (sockets, not threads: a threading.Event
wait there would block the whole hub) and as Swift's proxy patches it
(threads too). Each runs in its own process: patching is process-wide."""

import json
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent("""\
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import eventlet
    patch = json.loads(sys.argv[1])
    eventlet.monkey_patch(all=False, **patch)
    from swiftcrypt.keymasters.secretcache import RefreshingCache

    now = [0.0]
    loads = []

    def load():
        loads.append(now[0])
        eventlet.sleep(0.2)  # a Barbican round trip: other requests pile up
        return "v%d" % len(loads)

    cache = RefreshingCache(10, ttl=10, clock=lambda: now[0])
    pool = eventlet.GreenPool(50)
    first = list(pool.imap(lambda _: cache.get("k", load), range(30)))
    now[0] = 8.0  # within the last quarter of the ttl: a use refreshes behind
    ahead = cache.get("k", load)
    eventlet.sleep(0.5)  # the background refresh runs
    after = cache.get("k", load)
    print(json.dumps({"first": sorted(set(first)), "ahead": ahead, "after": after,
                      "loads": len(loads)}))
    """)


@pytest.mark.parametrize("patch", [
    {"socket": True, "select": True, "time": True},                  # swiftcrypt serve
    {"socket": True, "select": True, "time": True, "thread": True},  # Swift's proxy
], ids=["serve", "swift-proxy"])
def test_single_flight_and_refresh_ahead_under_eventlet(patch):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(patch)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"first": ["v1"], "ahead": "v1", "after": "v2", "loads": 2}


_FSYNC_SCRIPT = textwrap.dedent("""\
    import os, sys, warnings
    warnings.simplefilter("ignore")
    import eventlet
    eventlet.monkey_patch(all=False, socket=True, select=True, time=True)  # as serve
    from eventlet import patcher
    from webob import Request
    from swiftcrypt.store.app import app_factory

    real_sleep, real_fsync = patcher.original("time").sleep, os.fsync

    def slow_fsync(fd):  # a disk writing back a large body
        real_sleep(0.3)
        real_fsync(fd)

    store = app_factory({}, data_dir=sys.argv[1])
    assert Request.blank("/v1/a/c", method="PUT").get_response(store).status_int == 201
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            eventlet.sleep(0.01)

    eventlet.spawn_n(ticker)
    eventlet.sleep(0)
    os.fsync = slow_fsync
    req = Request.blank("/v1/a/c/o", method="PUT", body=b"x" * 100000)
    before = len(ticks)
    status = req.get_response(store).status_int
    os.fsync = real_fsync
    print(status, len(ticks) - before)
    """)


def test_the_stores_data_fsync_leaves_the_hub_serving(tmp_path):
    """Under serve's patching, a PUT's fsync of its data file runs off the
    hub: other green threads go on meanwhile (it used to stop them all)."""
    out = subprocess.run([sys.executable, "-c", _FSYNC_SCRIPT, str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    status, ticks = out.stdout.split()
    assert status == "201"
    assert int(ticks) >= 10  # ~30 in 0.3 s; a blocked hub ticks at most once or twice
