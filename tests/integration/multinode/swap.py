"""A rolling swap under load: ``run_swap`` reloads the proxies one step at
a time while ``Load`` runs against both, and ``report`` says what the
clients saw. The tests of each scenario (keymaster, kms_keymaster) share
``check_*`` below."""

import os
import pprint
import time

from tests.integration.multinode.load import Load

WARMUP = 3.0  # seconds of load before the first reload
BETWEEN = 1.5  # seconds of load after each reload, before the next
TAIL = 3.0  # seconds of load after the last


def run_swap(cluster, steps, clients=16):
    """Run ``Load`` while each (proxy, phase name, Crypto) of ``steps`` is
    reloaded in turn; returns the stopped Load."""
    load = Load(cluster, clients=clients).start()
    try:
        load.set_phase("initial")
        time.sleep(WARMUP)
        for proxy, phase, crypto in steps:
            load.set_phase("reloading %s: %s" % (proxy, phase))
            cluster.reload_proxy(crypto, proxy)
            load.set_phase("%s: %s" % (proxy, phase))
            time.sleep(BETWEEN)
        time.sleep(TAIL)
    finally:
        load.stop()
    return load


def report(load, title):
    """Print what the load saw (pytest shows it with -s or on failure)."""
    summary = load.summary()
    print("\n=== %s: %d operations, %d objects live (%d bytes), %d deleted"
          % (title, summary["ops"], summary["objects"], summary["bytes"], summary["deleted"]))
    print("phases (seconds into the load):")
    pprint.pprint(summary["phases"])
    print("expected non-2xx (the workload's own): %s" % summary["expected non-2xx"])
    print("stale keep-alive connections retried once (no status seen): %s"
          % (summary["stale keep-alive retries"],))
    print("unexpected (failures): %d" % len(summary["failures"]))
    for failure in summary["failures"]:
        print("  %r" % (failure,))
    if summary["failures"]:  # the proxies' side of them
        for proxy in load.cluster.proxy_names:
            print("%s's error lines:" % proxy)
            for line in proxy_errors(load.cluster, proxy)[-30:]:
                # a backend's traceback (its 500 body) in full, lines apart
                print("  " + (line.replace("\\n", "\n    ") if "Traceback" in line
                              else line[:400]))
    return summary


def proxy_errors(cluster, proxy):
    """The lines of ``proxy``'s log that report an error or a 4xx/5xx."""
    path = os.path.join(cluster.logs, "%s.log" % proxy)
    with open(path, "rb") as fh:
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return [line for line in lines if "ERROR" in line or "rror" in line or "Timeout" in line
            or " 401 " in line or " 503 " in line or " 500 " in line]


def check_no_client_visible_error(load):
    failures = report(load, "rolling swap")["failures"]
    assert not failures, "\n".join(map(repr, failures[:40]))
    # the load did run through every phase, and wrote in each
    phases = {getattr(o, "phase", None) for o in load.objects() + load.deleted()}
    missing = [p for _t, p in load.phases if not p.startswith("reloading") and p not in phases]
    assert not missing, "no object written during %s" % missing
    assert load.expected, "the workload's own non-2xx (404, 304, 412, 422) never happened"


def check_reads_back_through_every_proxy(cluster, load, implementations):
    """Every object written at any point reads back identically through
    each proxy, which run ``implementations`` (proxy -> encryption)."""
    assert {p: cluster.crypto_of(p).encryption for p in cluster.proxy_names} == implementations
    for proxy in cluster.proxy_names:
        failures = load.verify(proxy)
        assert not failures, "%s (%s): %s" % (proxy, implementations[proxy],
                                              "\n".join(map(repr, failures[:40])))
    assert len(load.objects()) > 100
