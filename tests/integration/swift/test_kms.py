"""swiftcrypt's kms_keymaster in the proxy, with root secrets in a real Barbican.

The root secrets stored in Barbican are the same bytes the other tests
configure inline, so data written with the Barbican-backed keymaster reads
back with swiftcrypt's and Swift's plain keymasters, and the other way round.
"""

import os
import socket
import time

import pytest
import swiftclient

from tests.integration.swift.conftest import (
    kms_crypto,
    make_body,
    swift_crypto,
    swiftcrypt_crypto,
    unique,
)
from tests.integration.swift.test_interchange import BOTH, NEW_SECRET, DataSet


@pytest.fixture(scope="module")
def barbican(kms_secrets):
    """The session's Barbican holding ROOT_SECRET (``key_id``) and
    NEW_SECRET (``key_id_next``)."""
    kms_secrets.store("next", NEW_SECRET, "swift next")
    return kms_secrets


def test_kms_keymaster_interchanges_with_inline_keymasters(cluster, barbican, plaintexts):
    cluster.use(kms_crypto(barbican))
    data = DataSet("kms", plaintexts).write(cluster).check(cluster)
    cluster.use(swiftcrypt_crypto())
    data.check(cluster)
    cluster.use(swift_crypto())
    data.check(cluster)
    other = DataSet("to-kms", plaintexts).write(cluster)
    cluster.use(kms_crypto(barbican))
    other.check(cluster)


def test_kms_keymaster_rotation(cluster, barbican, plaintexts):
    cluster.use(kms_crypto(barbican))
    old = DataSet("kms-rot-old", plaintexts).write(cluster)
    cluster.use(kms_crypto(barbican, secret_ids=(None, "next"), active="next"))
    new = DataSet("kms-rot-new", plaintexts).write(cluster).check(cluster)
    old.check(cluster)
    assert {k.get("secret_id") for k in new.key_paths(cluster).values()} == {"next"}
    # Swift's keymaster, given the same secrets inline, reads both generations
    cluster.use(swift_crypto(secrets=BOTH, active="next"))
    old.check(cluster)
    new.check(cluster)


def test_metrics_through_swifts_logger(cluster, barbican):
    """Swift's statsd options in the filter sections: Swift's logger sends
    our counters and timings, named under the proxy's log_name."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    statsd = {"log_statsd_host": "127.0.0.1", "log_statsd_port": str(sock.getsockname()[1]),
              "log_statsd_metric_prefix": "kmscluster"}
    crypto = kms_crypto(barbican)
    crypto.options.update(statsd)
    crypto.encryption_options.update(statsd)
    try:
        cluster.use(crypto)
        url, token = cluster.auth()
        container, body = unique(), make_body("metrics", 5000)
        swiftclient.put_container(url, token, container)
        swiftclient.put_object(url, token, container, "o", body)
        assert swiftclient.get_object(url, token, container, "o")[1] == body
        lines, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                lines.append(sock.recv(65536).decode())
            except socket.timeout:
                if any("decrypted.bytes" in line for line in lines):
                    break
    finally:
        sock.close()
        cluster.use(swiftcrypt_crypto())
    prefix = "kmscluster.proxy-server.swiftcrypt."
    assert prefix + "encrypted.requests:1|c" in lines
    assert prefix + "encrypted.bytes:%d|c" % len(body) in lines
    assert prefix + "decrypted.bytes:%d|c" % len(body) in lines
    # kms_keymaster's fetch when the proxy loaded its pipeline, timed
    assert any(line.startswith(prefix + "keyservice.get:") and line.endswith("|ms")
               for line in lines)


def test_seamless_reload_with_barbican_frozen_keeps_serving(cluster, barbican):
    """Swift's proxy reloads seamlessly (SIGUSR1: it re-execs itself and
    every worker loads the pipeline again) while Barbican is frozen: the
    proxy keeps serving with the root secret it had (handed over in
    memory), where it used to fail to load and stop."""
    crypto = kms_crypto(barbican)
    crypto.options.update({"timeout": "1", "retries": "0"})
    cluster.use(crypto)
    url, token = cluster.auth()
    container, body = unique(), make_body("reload", 3000)
    swiftclient.put_container(url, token, container)
    swiftclient.put_object(url, token, container, "o", body)
    pid = cluster.procs["proxy"].pid
    barbican.server.pause()
    try:
        start = cluster.reload_proxy_seamless()
        log = lambda: open(os.path.join(cluster.logs, "proxy.log"), "rb").read()[start:]  # noqa: E731
        deadline = time.monotonic() + 60
        while log().count(b"handed over by the program before this reload") < 2:
            assert cluster.procs["proxy"].poll() is None, cluster.log_tail("proxy")
            assert time.monotonic() < deadline, cluster.log_tail("proxy")
            time.sleep(0.2)
        # the re-exec'd parent and its new worker both loaded the pipeline
        assert cluster.procs["proxy"].pid == pid and cluster.procs["proxy"].poll() is None
        deadline = time.monotonic() + 30
        while True:
            try:
                got = swiftclient.get_object(url, token, container, "o")[1]
                break
            except Exception:  # the old worker's idle connections are closed once
                assert time.monotonic() < deadline, cluster.log_tail("proxy")
                time.sleep(0.2)
        assert got == body
        swiftclient.put_object(url, token, container, "during", b"written meanwhile")
        assert swiftclient.get_object(url, token, container, "during")[1] == \
            b"written meanwhile"
    finally:
        barbican.server.resume()
        cluster.restart_proxy(swiftcrypt_crypto())
