"""Outage tolerance of account_keymaster against a real Barbican (no auth):
account_keymaster -> encryption -> the embedded store, short lifetimes
(cache_ttl 2 s, cache_stale_ttl 4 s, a 1 s request timeout).

- Barbican stopped, or frozen with SIGSTOP, for longer than cache_ttl
  while a client keeps reading and writing accounts seen before: no error
  for cache_stale_ttl, 503 once every cached answer is past ttl + stale;
  a secret shredded (and seen so) before the outage answers 410 during it.
- Requests arriving together at a secret's expiry make one Barbican fetch
  (counted by a loopback proxy in front of the real Barbican); uses ahead
  of expiry renew it in the background.
The Barbican fixtures raise if they cannot start: these tests fail, never
skip.
"""

import threading
import time
import uuid

import pytest

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.middleware import encryption
from tests.integration.kms.conftest import noauth_conf, raw_store
from tests.integration.kms.test_account_secrets import call, put, stored_secret_id
from tests.integration.servers.barbican import BarbicanServer
from tests.integration.servers.faultproxy import FaultProxy

TTL, STALE = 2.0, 4.0
LIFETIMES = {"cache_ttl": str(TTL), "cache_stale_ttl": str(STALE), "timeout": "1",
             "retries": "0"}


def proxy(data_dir, endpoint_of, **extra):
    conf = noauth_conf(endpoint_of, **dict(LIFETIMES, **extra))
    return account_keymaster.filter_factory({}, **conf)(
        encryption.filter_factory({})(raw_store(data_dir)))


class Endpoint:
    def __init__(self, endpoint):
        self.endpoint = endpoint


@pytest.fixture
def doomed_barbican(tmp_path):
    server = BarbicanServer(tmp_path / "doomed")
    yield server
    server.stop()


def run_outage(server, data, outage, recover):
    tag = uuid.uuid4().hex[:8]
    live = ["AUTH_live%s%d" % (tag, i) for i in range(2)]
    shredded = "AUTH_shred%s" % tag
    app = proxy(data, server)
    for account in live + [shredded]:
        put(app, account, "before")
    # the shred happens, and this proxy learns of it, before the outage
    server.delete_secret(stored_secret_id(data, shredded, "before"), project_id="swift-kms")
    time.sleep(TTL + 0.1)
    assert call(app, "GET", "/v1/%s/c/before" % shredded).status_int == 410
    for account in live:  # read and written just before the outage
        assert call(app, "GET", "/v1/%s/c/before" % account).status_int == 200
        assert call(app, "PUT", "/v1/%s/c/just-before" % account, b"z").status_int == 201

    outage()
    try:
        start = time.monotonic()
        statuses, n = [], 0
        # clients keep reading and writing within cache_stale_ttl of the outage
        while time.monotonic() - start < STALE - 0.5:
            n += 1
            for account in live:
                got = call(app, "GET", "/v1/%s/c/before" % account)
                statuses.append(("GET", account, got.status_int))
                if got.status_int == 200:
                    assert got.body.startswith(b"account-secret body")
                wrote = call(app, "PUT", "/v1/%s/c/during%d" % (account, n), b"x" * n)
                statuses.append(("PUT", account, wrote.status_int))
            statuses.append(("GET", shredded, call(
                app, "GET", "/v1/%s/c/before" % shredded).status_int))
            time.sleep(0.2)
        assert elapsed_past(start, TTL), "the outage must outlast cache_ttl"
        expected = [(m, a, 410 if a == shredded else (201 if m == "PUT" else 200))
                    for m, a, _ in statuses]
        assert statuses == expected
        # past ttl + stale of every cached answer: the key manager is missed
        while time.monotonic() - start < TTL + STALE + 0.5:
            time.sleep(0.2)
        for account in live:
            resp = call(app, "GET", "/v1/%s/c/before" % account)
            assert resp.status_int == 503, resp.status
            assert b"key manager" in resp.body
            assert call(app, "PUT", "/v1/%s/c/after" % account, b"y").status_int == 503
        # the shred's answer is as old: it too has run out (410 was asserted within it)
        assert call(app, "GET", "/v1/%s/c/before" % shredded).status_int == 503
    finally:
        recover()
    return app, live


def elapsed_past(start, seconds):
    return time.monotonic() - start > seconds


def test_frozen_barbican_serves_stale_then_503(barbican_noauth, tmp_path):
    data = tmp_path / "data"
    app, live = run_outage(barbican_noauth, data, barbican_noauth.pause,
                           barbican_noauth.resume)
    deadline = time.monotonic() + 10
    while call(app, "GET", "/v1/%s/c/before" % live[0]).status_int != 200:
        assert time.monotonic() < deadline, "no recovery after the thaw"
        time.sleep(0.2)
    for account in live:
        assert call(app, "GET", "/v1/%s/c/during1" % account).body == b"x"


def test_stopped_barbican_serves_stale_then_503(doomed_barbican, tmp_path):
    run_outage(doomed_barbican, tmp_path / "data", doomed_barbican.stop, lambda: None)


def test_one_fetch_at_expiry_and_refresh_ahead(barbican_noauth, tmp_path):
    data = tmp_path / "data"
    with FaultProxy(barbican_noauth.endpoint) as counting:
        app = proxy(data, Endpoint(counting.endpoint))
        account = "AUTH_flight%s" % uuid.uuid4().hex[:8]
        put(app, account, "o")
        secret_id = stored_secret_id(data, account, "o")
        payload = "/secrets/%s/payload" % secret_id
        time.sleep(TTL + 0.2)  # expired, unused meanwhile: the next uses must fetch
        before = counting.count(payload)
        barrier = threading.Barrier(20)
        statuses = []

        def client():
            barrier.wait()
            statuses.append(call(app, "GET", "/v1/%s/c/o" % account).status_int)

        threads = [threading.Thread(target=client) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [200] * 20
        assert counting.count(payload) - before == 1

        # uses within the last quarter of cache_ttl renew it behind them
        time.sleep(TTL * 0.8)
        before = counting.count(payload)
        assert call(app, "GET", "/v1/%s/c/o" % account).status_int == 200
        deadline = time.monotonic() + 5
        while counting.count(payload) == before:
            assert time.monotonic() < deadline, "no refresh ahead of expiry"
            time.sleep(0.05)
        time.sleep(TTL * 0.5)  # past the first expiry: still fresh, no fetch
        before = counting.count(payload)
        assert call(app, "GET", "/v1/%s/c/o" % account).status_int == 200
        assert counting.count(payload) == before
