"""Outage tolerance of the per-account secret caches: lifetimes for found
secrets, gone secrets and stale serving while the key manager is away;
refresh ahead of expiry; one fetch per secret at a time; the counters and
the audit lines. An in-memory key manager and a hand-driven clock."""

import logging
import threading

import pytest

from swiftcrypt.keymasters import account_secrets as acs
from swiftcrypt.keymanager.base import ServerError, Unreachable
from swiftcrypt.keymasters.secretcache import RefreshingCache
from tests.unit.test_account_keys import Clock, FakeAccountKeyManager

A = "AUTH_a"


class Counted:
    """A Metrics stand-in that remembers what was counted."""

    def __init__(self):
        self.counts = {}
        self.timings = []

    def increment(self, name, count=1):
        self.counts[name] = self.counts.get(name, 0) + count

    def timing(self, name, seconds):
        self.timings.append(name)


class Deferred:
    """A spawn that keeps background work until run() is called."""

    def __init__(self):
        self.jobs = []

    def __call__(self, func, *args):
        self.jobs.append((func, args))

    def run(self):
        jobs, self.jobs = self.jobs, []
        for func, args in jobs:
            func(*args)


@pytest.fixture
def km():
    return FakeAccountKeyManager()


@pytest.fixture
def clock():
    return Clock()


def make(km, clock, spawn=None, **kwargs):
    counted = Counted()
    kwargs.setdefault("ttl", 10)
    secrets = acs.AccountSecrets(km, clock=clock, sleep=lambda s: None, metrics_=counted,
                                 spawn=spawn or Deferred(), **kwargs)
    return secrets, counted


def account_with_secret(km, secrets):
    secret_id, _ = secrets.active(A, create=True)
    return secret_id


@pytest.mark.parametrize("failure", [Unreachable(None, "down"), ServerError(None, "5xx", 503)])
def test_stale_serving_within_the_window_then_503(km, clock, failure):
    spawn = Deferred()
    secrets, counted = make(km, clock, stale_ttl=20, spawn=spawn)
    sid = account_with_secret(km, secrets)
    payload = secrets.secret(A, sid)
    clock.now += 11  # expired
    km.failures = [failure] * 100
    assert secrets.secret(A, sid) == payload
    assert secrets.active(A) == (sid, (sid,))  # listings too: writes keep working
    assert counted.counts["cache.secret.stale"] == 1
    calls = len(km.calls)
    assert secrets.secret(A, sid) == payload  # known away: no new wait on it...
    assert len(km.calls) == calls  # ... (a background refresh is queued instead)
    assert len(spawn.jobs) == 1
    spawn.run()  # both fail: still away
    clock.now += 19.5  # 30.5 s after the fetch: past ttl + stale_ttl
    with pytest.raises(acs.KeyManagerUnavailable) as err:
        secrets.secret(A, sid)
    assert err.value.status == 503
    with pytest.raises(acs.KeyManagerUnavailable):
        secrets.active(A)


def test_no_stale_window_is_503_at_expiry(km, clock):
    secrets, _ = make(km, clock, stale_ttl=0)
    sid = account_with_secret(km, secrets)
    clock.now += 11
    km.failures = [Unreachable(None, "down")]
    with pytest.raises(acs.KeyManagerUnavailable):
        secrets.secret(A, sid)


def test_a_shred_is_never_served_stale(km, clock, caplog):
    caplog.set_level(logging.INFO)
    secrets, counted = make(km, clock, stale_ttl=1000)
    sid = account_with_secret(km, secrets)
    km.delete_secret(sid)
    clock.now += 11
    with pytest.raises(acs.SecretGone) as err:
        secrets.secret(A, sid)
    assert err.value.status == 410
    # ... and stays gone, during an outage too
    km.failures = [Unreachable(None, "down")] * 100
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)
    clock.now += 10.5  # the negative answer expired: still gone, served stale
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)
    lines = [r.getMessage() for r in caplog.records if "audit" in r.getMessage()]
    assert ["event=shredded" in line and "secret_id=%s" % sid in line and
            "account=%s" % A in line for line in lines].count(True) == 1


def test_negative_ttl_is_its_own(km, clock):
    secrets, _ = make(km, clock, negative_ttl=2)
    sid = account_with_secret(km, secrets)
    km.delete_secret(sid)
    clock.now += 11
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)
    calls = len(km.calls)
    clock.now += 1
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)
    assert len(km.calls) == calls  # cached
    clock.now += 1.5
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)
    assert len(km.calls) == calls + 1  # asked again after cache_negative_ttl


def test_refresh_ahead_renews_in_the_background(km, clock):
    spawn = Deferred()
    secrets, counted = make(km, clock, spawn=spawn)
    sid = account_with_secret(km, secrets)
    secrets.secret(A, sid)
    gets = [c for c in km.calls if c[0] == "get"]
    clock.now += 8  # past 3/4 of the ttl, not expired
    secrets.secret(A, sid)
    secrets.secret(A, sid)
    assert len(spawn.jobs) == 1  # one refresh however many uses
    assert [c for c in km.calls if c[0] == "get"] == gets  # nobody waited on it
    spawn.run()
    assert len([c for c in km.calls if c[0] == "get"]) == len(gets) + 1
    clock.now += 5  # 13 s after the first fetch, 5 after the refresh: still fresh
    calls = len(km.calls)
    secrets.secret(A, sid)
    assert len(km.calls) == calls
    assert counted.counts.get("cache.secret.miss", 0) == 0


def test_refresh_ahead_sees_a_shred(km, clock):
    spawn = Deferred()
    secrets, _ = make(km, clock, spawn=spawn, stale_ttl=1000)
    sid = account_with_secret(km, secrets)
    km.delete_secret(sid)
    clock.now += 8
    secrets.secret(A, sid)  # still fresh: served, refresh queued
    spawn.run()
    with pytest.raises(acs.SecretGone):
        secrets.secret(A, sid)


class SlowManager(FakeAccountKeyManager):
    """get_secret blocks until released: requests pile up on one fetch."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def get_secret(self, key_id):
        self.entered.set()
        self.release.wait(10)
        return super().get_secret(key_id)


def test_one_fetch_per_secret_however_many_requests(clock):
    km = SlowManager()
    km.release.set()
    secrets, counted = make(km, clock)
    sid = account_with_secret(km, secrets)
    secrets._secrets.pop(sid)  # as after an eviction: the next use must fetch
    km.release.clear()
    km.calls.clear()
    results = []
    threads = [threading.Thread(target=lambda: results.append(secrets.secret(A, sid)))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    assert km.entered.wait(10)
    km.release.set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 20 and len(set(results)) == 1
    assert [c for c in km.calls if c[0] == "get"] == [("get", sid)]


def test_waiters_of_a_failed_fetch_serve_stale(clock):
    cache = RefreshingCache(10, ttl=5, stale_ttl=10, transient=lambda e: True, clock=clock)
    cache.put("k", "old")
    clock.now += 6

    def down():
        raise RuntimeError("away")

    assert cache.get("k", down) == "old"
    clock.now += 10
    with pytest.raises(RuntimeError):
        cache.get("k", down)


def test_counters_and_first_use_audit(km, clock, caplog):
    caplog.set_level(logging.INFO)
    secrets, counted = make(km, clock)
    sid = km.add(acs.secret_name(A))
    secrets.secret(A, sid)
    secrets.secret(A, sid)
    assert counted.counts["cache.secret.miss"] == 1
    assert counted.counts["cache.secret.hit"] == 1
    assert "keyservice.get" in counted.timings
    km.failures = [Unreachable(None, "down")]
    secrets._secrets.pop(sid)
    with pytest.raises(acs.KeyManagerUnavailable):
        secrets.secret(A, sid)
    assert counted.counts["keyservice.errors"] == 1
    assert counted.counts["keyservice.errors.unreachable"] == 1
    secrets.secret(A, sid)
    lines = [r.getMessage() for r in caplog.records if "swiftcrypt audit" in r.getMessage()]
    first = [line for line in lines if "event=first_use" in line]
    assert len(first) == 1 and "secret_id=%s" % sid in first[0]
    assert km.payload(sid).hex() not in caplog.text


def test_created_and_rotated_are_audited(km, clock, caplog):
    caplog.set_level(logging.INFO)
    secrets, _ = make(km, clock, window=0)
    first = account_with_secret(km, secrets)
    newer = km.add(acs.secret_name(A))
    clock.now += 11
    assert secrets.active(A)[0] == newer
    lines = [r.getMessage() for r in caplog.records if "swiftcrypt audit" in r.getMessage()]
    assert any("event=created" in line and first in line for line in lines)
    assert any("event=rotated" in line and "secret_id=%s" % newer in line and
               "previous_secret_id=%s" % first in line for line in lines)
