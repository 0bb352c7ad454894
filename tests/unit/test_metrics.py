"""Metrics on a real UDP socket: the encryption filter and account_keymaster
send statsd lines (Swift's format) for requests encrypted and decrypted and
their bytes, failures by reason, secret-cache hits/misses/stale serves and
key-service latency and errors, through our statsd client (no Swift logger:
``swiftcrypt serve``) and through Swift's logger (a ``log_name`` in the
config, as Swift's proxy gives every filter)."""

import socket
import time

import pytest

from swiftcrypt.keymasters import account_keymaster

from swiftcrypt.middleware import encryption

from swiftcrypt.common import logs

from swiftcrypt.common import metrics

from swiftcrypt.middleware import verify_body
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.keymanager.base import Unreachable
from tests.support.memstore import MemStore
from tests.support.pipelines import call
from tests.unit.test_account_keys import FakeAccountKeyManager
from tests.unit.test_tamper import Chunked, flip_byte

CONN = {"auth_type": "noauth", "barbican_endpoint": "http://b:9311", "project_id": "p",
        "retries": "0"}
PATH = "/v1/AUTH_a/c/o"
BODY = b"counted body " * 100


@pytest.fixture
def udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def received(sock):
    lines = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            lines.append(sock.recv(65536).decode())
        except socket.timeout:
            if lines:
                break
    return lines


def counters(lines, prefix):
    """{name: total} of the counter lines under ``prefix``."""
    totals = {}
    for line in lines:
        name, rest = line.split(":", 1)
        value, kind = rest.split("|")[:2]
        assert name.startswith(prefix), line
        if kind == "c":
            totals[name[len(prefix):]] = totals.get(name[len(prefix):], 0) + int(value)
    return totals


def build(udp, km, clock, **extra):
    conf = dict(log_statsd_host="127.0.0.1", log_statsd_port=str(udp.getsockname()[1]),
                log_statsd_metric_prefix="cluster1", **extra)
    store = MemStore()
    backend = Chunked(store)
    enc = encryption.filter_factory({}, verify_body="true", **conf)(backend)
    km_conf = dict(CONN, cache_ttl="10", cache_stale_ttl="20", **conf)
    app = account_keymaster.filter_factory({}, **km_conf)
    # the filter's own key manager would be Barbican: use the in-memory one
    logger = logs.get_logger(km_conf, "account_keymaster")
    secrets, settings = account_keymaster.make_secrets(
        account_keymaster.account_conf(km_conf), manager=km,
        metrics_=metrics.metrics_for(km_conf, logger))
    # Swift's logger sends them when there is one; our client otherwise
    swift = "log_name" in conf
    assert isinstance(enc.metrics.sink, metrics.StatsdClient) != swift
    assert isinstance(secrets.metrics.sink, metrics.StatsdClient) != swift
    for cache in (secrets._accounts, secrets._secrets):
        cache.clock = clock
    del app
    return account_keymaster.AccountKeyMaster(enc, secrets, settings), store


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("log_name", [None, "proxy-server"], ids=["ours", "swift-logger"])
def test_statsd_lines_on_a_real_udp_socket(udp, log_name):
    km = FakeAccountKeyManager()
    clock = Clock()
    extra = {} if log_name is None else {"log_name": log_name}
    app, store = build(udp, km, clock, **extra)
    assert call(app, "/v1/AUTH_a/c", "PUT").status_int in (201, 202, 204)
    assert call(app, PATH, "PUT", BODY).status_int == 201
    assert call(app, PATH).body == BODY
    assert call(app, PATH).body == BODY
    clock.now += 11  # expired; Barbican away: served stale
    km.failures = [Unreachable(None, "down")] * 10
    assert call(app, PATH).body == BODY
    km.failures = []
    clock.now += 30  # fetched again
    flip_byte(store, 3, PATH)  # verify_body catches it
    resp = call(app, PATH)
    with pytest.raises(verify_body.BodyCorrupt):
        _ = resp.body
    flip_byte(store, 3, PATH)
    km.delete_secret(next(iter(km.secrets)))
    clock.now += 31
    assert call(app, PATH).status_int == 410
    lines = received(udp)
    prefix = "cluster1.%sswiftcrypt." % ("" if log_name is None else log_name + ".")
    totals = counters(lines, prefix)
    assert totals["encrypted.requests"] == 1
    assert totals["encrypted.bytes"] == len(BODY)
    assert totals["decrypted.requests"] >= 3
    assert totals["decrypted.bytes"] >= 3 * len(BODY)
    assert totals["failures.verify_body_mismatch"] == 1
    assert totals["failures.shredded"] == 1
    assert totals["cache.secret.hit"] >= 1 and totals["cache.secret.miss"] >= 1
    assert totals["cache.secret.stale"] == 1
    assert totals["keyservice.errors.unreachable"] >= 1
    assert totals["keyservice.errors.not_found"] == 1
    assert any(line.startswith(prefix + "keyservice.get:") and line.endswith("|ms")
               for line in lines)


def test_wrong_key_and_bad_metadata_are_counted(udp):
    from tests.support.pipelines import encrypting_pipeline
    port = str(udp.getsockname()[1])
    store = MemStore()
    secret = "A" * 44
    app = encrypting_pipeline(store, {"encryption_root_secret": secret},
                              log_statsd_host="127.0.0.1", log_statsd_port=port)
    assert call(app, PATH, "PUT", BODY).status_int == 201
    other = encrypting_pipeline(store, {"encryption_root_secret": "B" * 44},
                                log_statsd_host="127.0.0.1", log_statsd_port=port)
    assert call(other, PATH).status_int == 500  # wrong key: the etag MAC does not match
    meta, body = store.objects[PATH]
    meta = dict(meta)
    name = next(k for k in meta if k.lower() == "x-object-sysmeta-crypto-body-meta")
    meta[name] = "not json"
    store.objects[PATH] = (meta, body)
    assert call(app, PATH).status_int == 500
    totals = counters(received(udp), "swiftcrypt.")
    assert totals["failures.wrong_key"] == 1
    assert totals["failures.bad_crypto_meta"] == 1


def test_bad_statsd_port_stops_start_up():
    with pytest.raises(ConfigError) as err:
        encryption.filter_factory({}, log_statsd_host="127.0.0.1", log_statsd_port="x")(None)
    assert str(err.value).startswith("log_statsd_port")
