"""A rolling swap under load: ``run_swap`` reloads the proxies one step at
a time while ``Load`` runs against both, and ``report`` says what the
clients saw. Each scenario (keymaster, kms_keymaster) is the operator's
``PROCEDURE`` with its own filters and root secrets (a ``crypto``
function, see ``steps``) on the cluster of ``cluster``, checked by the
``check_*`` below."""

import collections
import contextlib
import os
import re
import time

from tests.integration.multinode.load import EXPECTED_CAUSES, Load
from tests.integration.swift import functests
from tests.integration.swift_cluster import SwiftCluster

# Seconds of load at least before the first reload, after each reload
# before the next, and after the last; each also lasts until an object was
# written through every proxy (Load.wait_for_writes), however slow the host.
WARMUP = 2.0
BETWEEN = 1.0
TAIL = 2.0
WRITE_TIMEOUT = 120.0

# The operator's steps, in order (doc/deployment.md section 8): swap
# proxy A then B; rotation = the new secret known on every proxy first,
# active after; then A back. Each: (proxy, phase name, implementation,
# root secret ids known, active secret id); None is the first secret's id
# (encryption_root_secret, or kms_keymaster's key_id).
START = ("swift", (None,), None)
PROCEDURE = (
    ("proxy", "swiftcrypt's filters", "swiftcrypt", (None,), None),
    ("proxy2", "swiftcrypt's filters", "swiftcrypt", (None,), None),
    ("proxy", "new secret known", "swiftcrypt", (None, "new"), None),
    ("proxy2", "new secret known", "swiftcrypt", (None, "new"), None),
    ("proxy", "new secret active", "swiftcrypt", (None, "new"), "new"),
    ("proxy2", "new secret active", "swiftcrypt", (None, "new"), "new"),
    ("proxy", "back to Swift's filters", "swift", (None, "new"), "new"),
)
AFTER = {"proxy": "swift", "proxy2": "swiftcrypt"}  # proxy -> encryption at the end


def steps(crypto):
    """``PROCEDURE`` as (proxy, phase, Crypto) for ``run_swap``:
    ``crypto(implementation, secret_ids, active)`` makes each Crypto."""
    return tuple((proxy, phase, crypto(implementation, secret_ids, active))
                 for proxy, phase, implementation, secret_ids, active in PROCEDURE)


@contextlib.contextmanager
def cluster(crypto):
    """Three storage nodes, two proxies, both on ``crypto(*START)``;
    stopped after (a server that cannot start fails the tests)."""
    swift = SwiftCluster(nodes=3, proxies=2)
    try:
        swift.start(crypto(*START))
        yield swift
    finally:
        swift.stop()


def run_swap(cluster, steps, clients=16):
    """Run ``Load`` while each (proxy, phase name, Crypto) of ``steps`` is
    reloaded in turn; returns the stopped Load."""
    load = Load(cluster, clients=clients).start()

    def phase(name, seconds):
        load.set_phase(name)
        time.sleep(seconds)
        load.wait_for_writes(name, WRITE_TIMEOUT)  # if not, the check says so

    try:
        phase("initial", WARMUP)
        for number, (proxy, name, crypto) in enumerate(steps, 1):
            load.set_phase("reloading %s: %s" % (proxy, name))
            cluster.reload_proxy(crypto, proxy)
            phase("%s: %s" % (proxy, name), TAIL if number == len(steps) else BETWEEN)
    finally:
        load.stop()
    return load


def report(load, title):
    """Print what the load saw (pytest shows it with -s or on failure) and
    keep it, passing or not, as ``multinode-<title>-last.txt`` in the cache
    dir (where the Swift functional runs keep their counts)."""
    summary = load.summary()
    out = ["", "=== %s: %d operations, %d objects live (%d bytes), %d deleted"
           % (title, summary["ops"], summary["objects"], summary["bytes"], summary["deleted"]),
           "phases (seconds into the load; objects written through each proxy):"]
    for when, phase in summary["phases"]:
        out.append("  %6.1f  %-50s %s" % (when, phase, " ".join(
            "%s:%d" % (p, summary["written"].get((phase, p), 0)) for p in load.proxies)))
    out.append("expected non-2xx (the workload's own), by operation and status:")
    for key, count in summary["expected non-2xx"].items():
        out.append("  %-26s %5d  %s" % (key, count,
                                        EXPECTED_CAUSES.get(key.rsplit(" ", 1)[0], "?")))
    stale = summary["stale keep-alive retries"]
    out.append("stale keep-alive connections retried once (closed by a reloaded proxy's old"
               " worker, no status seen): %d" % len(stale))
    by_phase = collections.Counter((phase, proxy) for _t, phase, proxy, _m in stale)
    for (phase, proxy), count in sorted(by_phase.items()):
        out.append("  %-52s via %-6s %4d" % (phase, proxy, count))
    out.append("unexpected (failures): %d" % len(summary["failures"]))
    for failure in summary["failures"]:
        out.append("  %r" % (failure,))
    if summary["failures"]:  # the proxies' side of them
        for proxy in load.cluster.proxy_names:
            out.append("%s's error lines:" % proxy)
            for line in proxy_errors(load.cluster, proxy)[-30:]:
                # a backend's traceback (its 500 body) in full, lines apart
                out.append("  " + (line.replace("\\n", "\n    ") if "Traceback" in line
                                   else line[:400]))
    text = "\n".join(out)
    print(text)
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    with open(os.path.join(functests.cache_dir(), "multinode-%s-last.txt" % name), "w") as fh:
        fh.write(text + "\n")
    return summary


def proxy_errors(cluster, proxy):
    """The lines of ``proxy``'s log that report an error or a 4xx/5xx."""
    path = os.path.join(cluster.logs, "%s.log" % proxy)
    with open(path, "rb") as fh:
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return [line for line in lines if "ERROR" in line or "rror" in line or "Timeout" in line
            or " 401 " in line or " 503 " in line or " 500 " in line]


def check_no_client_visible_error(load, title):
    failures = report(load, title)["failures"]
    assert not failures, "\n".join(map(repr, failures[:40]))
    # the load did run through every phase, and wrote through each proxy in each
    missing = [(phase, proxy) for _t, phase in load.phases if not phase.startswith("reloading")
               for proxy in load.proxies if not load.written.get((phase, proxy))]
    assert not missing, "no object written during (phase, through proxy): %s" % missing
    assert load.expected, "the workload's own non-2xx (404, 304, 412, 422) never happened"


def check_reads_back_through_every_proxy(cluster, load, implementations=AFTER):
    """Every object written at any point reads back identically through
    each proxy, which run ``implementations`` (proxy -> encryption)."""
    assert {p: cluster.crypto_of(p).encryption for p in cluster.proxy_names} == implementations
    for proxy in cluster.proxy_names:
        failures = load.verify(proxy)
        assert not failures, "%s (%s): %s" % (proxy, implementations[proxy],
                                              "\n".join(map(repr, failures[:40])))
    assert len(load.objects()) > 100
