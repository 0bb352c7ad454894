"""The multi-node cluster under the mixed load, three ways in one run.

Starts the integration fixture's cluster (three storage nodes, two proxies
sharing memcached, Swift's daemons running: tests/integration/swift_cluster.py,
``nodes=3, proxies=2``) and runs tests/integration/multinode/load.py's
workload (16 clients by default, time-bounded, every request to either
proxy, PUT/GET/HEAD/POST/COPY/DELETE, ranged and conditional GETs,
listings, an SLO, two 16 MiB objects, every body checked by SHA-256)
with both proxies on no encryption, on Swift's ``keymaster`` +
``encryption`` and on swiftcrypt's, in interleaved rounds (the order
rotates each round; both proxies are reloaded gracefully between runs).
Reports ops/s and MB/s per operation kind, their medians over the rounds
and the ratios between the three; every non-2xx the clients saw is listed
with its cause. Writes NAME.json and NAME.md into --out only for a
complete run (every round of every configuration, no client error).

    python -m bench.multinode --rounds 3 --seconds 20 --name multinode-2core --out bench/results

Needs the repository checkout (the fixture), root (a tmpfs per device) and
memcached; about 20 s to start the cluster plus (--seconds + ~15 s) per
run, i.e. about 8 minutes with the defaults on two cores.
"""

import argparse
import os
import statistics
import sys
import time

from swiftcrypt.cli import exitcodes

from . import report
from .cluster import available

NAMES = ("none", "swift", "swiftcrypt")
LABELS = {"none": "no encryption", "swift": "Swift's keymaster + encryption",
          "swiftcrypt": "swiftcrypt's keymaster + encryption"}


def cryptos(secret):
    """{configuration name: the Crypto both proxies run}."""
    from tests.integration.swift_cluster import Crypto

    return {"none": Crypto(), "swift": Crypto("swift", "swift", {None: secret}),
            "swiftcrypt": Crypto("swiftcrypt", "swiftcrypt", {None: secret})}


def one_run(cluster, clients, seconds, think):
    """Run the load ``seconds`` against both proxies; the sample (per op
    kind, failures and expected non-2xx with their causes)."""
    from tests.integration.multinode.load import Load

    load = Load(cluster, clients=clients, think=think).start()
    try:
        time.sleep(seconds)
    finally:
        load.stop()
    elapsed = load.stopped - load.started
    per_op = {op: {"ops": v["ops"], "bytes": v["bytes"],
                   "ops_per_s": v["ops"] / elapsed, "mb_per_s": v["bytes"] / elapsed / 1e6,
                   "mean_latency_ms": 1000 * v["seconds"] / max(1, v["ops"])}
              for op, v in sorted(load.per_op.items())}
    total_ops = sum(v["ops"] for v in load.per_op.values())
    total_bytes = sum(v["bytes"] for v in load.per_op.values())
    per_op["all"] = {"ops": total_ops, "bytes": total_bytes, "ops_per_s": total_ops / elapsed,
                     "mb_per_s": total_bytes / elapsed / 1e6,
                     "mean_latency_ms": 1000 * sum(v["seconds"] for v in load.per_op.values())
                     / max(1, total_ops)}
    sample = {"seconds": round(elapsed, 2), "per_op": per_op,
              "expected non-2xx": dict(load.expected),
              "stale keep-alive retries": len(load.stale_retries),
              "failures": [repr(f) for f in load.failures]}
    cleanup(load)
    return sample


def cleanup(load):
    """Delete what the run wrote (the devices are small tmpfs), unmeasured."""
    import threading

    objects = load.objects()
    slo_segments = [(c.container + "-segments", "seg-%d" % i) for c in load.clients
                    if c.index == 2 for i in range(3)]

    def work(index):
        from tests.integration.multinode.load import Client

        client = Client(load, 950 + index)
        try:
            items = [o.path for o in objects[index::4]]
            items += ["%s/%s" % pair for pair in slo_segments[index::4]]
            for path in items:
                client.request(client.proxy(), "DELETE", path)
        finally:
            for conn in client.conns.values():
                conn.close()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def summarize(samples):
    """Medians over rounds per configuration and op kind, and the ratios."""
    summary = {}
    for name, rounds in samples.items():
        ops = sorted({op for r in rounds for op in r["per_op"]})
        summary[name] = {op: {key: statistics.median(r["per_op"].get(op, {}).get(key, 0)
                                                     for r in rounds)
                              for key in ("ops_per_s", "mb_per_s", "mean_latency_ms")}
                         for op in ops}
    ratios = {}
    for num, den in (("swift", "none"), ("swiftcrypt", "none"), ("swiftcrypt", "swift")):
        if num not in summary or den not in summary:
            continue
        key = "%s/%s" % (num, den)
        ratios[key] = {}
        for op, figures in summary[num].items():
            base = summary[den].get(op, {})
            ratios[key][op] = {k: (figures[k] / base[k] if base.get(k) else None)
                               for k in ("ops_per_s", "mb_per_s", "mean_latency_ms")}
    return {"medians": summary, "ratios": ratios}


def _fmt(value, digits=2):
    return "-" if value is None else "%.*f" % (digits, value)


def markdown(results, summary):
    """The report as Markdown: the table of medians, the ratios, the non-2xx."""
    med, ratios = summary["medians"], summary["ratios"]
    names = [n for n in NAMES if n in med]
    ops = sorted({op for n in names for op in med[n]}, key=lambda op: (op == "all", op))
    lines = ["# Multi-node mixed load: %s" % results["name"], "",
             "    %s" % results["command"], "",
             "Three storage nodes, two proxies (one worker each), Swift's daemons running, "
             "all on this machine (%s, %s CPUs, load average at the start %s); "
             "%d clients against both proxies for %d s per run, think time %s s; "
             "%d interleaved rounds; figures are medians over the rounds; MB/s counts the "
             "body bytes sent and received (10^6 bytes). Swift %s." % (
                 results["machine"].get("cpu"), results["machine"].get("cpus"),
                 " ".join(results["machine"].get("loadavg_at_start", [])),
                 results["clients"], results["seconds_per_run"], results["think"],
                 results["rounds"], results["machine"].get("swift")), "",
             "`put 16 MiB` and `slo put` happen once per client that does them, at the "
             "start of each run: compare their latency, not their rate.", "",
             "| op | " + " | ".join("%s ops/s | MB/s | ms" % n for n in names) + " |",
             "|---|" + "---:|---:|---:|" * len(names)]
    for op in ops:
        cells = []
        for name in names:
            fig = med[name].get(op, {})
            cells += [_fmt(fig.get("ops_per_s"), 1), _fmt(fig.get("mb_per_s"), 2),
                      _fmt(fig.get("mean_latency_ms"), 0)]
        lines.append("| %s | %s |" % (op, " | ".join(cells)))
    lines += ["", "Ratios, each cell `ops/s / MB/s / mean latency` (MB/s only where the "
              "op moved bodies without encryption; latency: lower is better):", "",
              "| op | " + " | ".join(ratios) + " |", "|---|" + "---:|" * len(ratios)]
    for op in ops:
        cells = []
        for key in ratios:
            fig = ratios[key].get(op, {})
            text = _fmt(fig.get("ops_per_s"))
            if fig.get("mb_per_s") is not None and med["none"].get(op, {}).get("mb_per_s"):
                text += " / " + _fmt(fig.get("mb_per_s"))
            cells.append(text + " / " + _fmt(fig.get("mean_latency_ms")))
        lines.append("| %s | %s |" % (op, " | ".join(cells)))
    lines += ["", "Non-2xx and errors the clients saw, per configuration and round:", ""]
    for name in names:
        for number, sample in enumerate(results["samples"][name]):
            lines.append("- %s, round %d: expected (the workload's own: 404 of a deleted "
                         "name, 304/412 of its conditional GETs, 422 of a wrong ETag) %s; "
                         "stale keep-alive retries %d; unexpected %d%s" % (
                             name, number + 1, sample["expected non-2xx"] or "none",
                             sample["stale keep-alive retries"], len(sample["failures"]),
                             "".join("\n  - " + f for f in sample["failures"])))
    return "\n".join(lines) + "\n"


def rewrite_markdown(json_path):
    """Write NAME.md again from NAME.json (after a change of the report)."""
    import json

    with open(json_path) as fh:
        data = json.load(fh)
    text = markdown(data["results"], data["summary"])
    with open(json_path[:-len(".json")] + ".md", "w") as fh:
        fh.write(text)
    return text


def configure(parser):
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="interleaved rounds of the three configurations (default: "
                             "%(default)s)")
    parser.add_argument("--seconds", type=float, default=20, metavar="S",
                        help="load duration of each run (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=16, metavar="N",
                        help="concurrent clients (default: %(default)s)")
    parser.add_argument("--think", type=float, default=0.0, metavar="S",
                        help="each client's pause between operations (default: "
                             "%(default)s: as fast as the cluster answers)")
    parser.add_argument("--out", default=".", metavar="DIR",
                        help="where NAME.json and NAME.md go (default: the current "
                             "directory)")
    parser.add_argument("--name", default=None,
                        help="file stem (default: multinode-<date>)")


def run(args):
    """Measure, print the report, write the files if complete; exit status."""
    if not available():
        sys.stderr.write("bench.multinode: needs the repository checkout "
                         "(tests/integration/swift_cluster.py)\n")
        return exitcodes.USAGE
    from tests.integration.swift_cluster import SwiftCluster

    name = args.name or "multinode-" + time.strftime("%Y%m%d-%H%M%S")
    results = {"name": name, "command": " ".join(["python -m bench.multinode"] + sys.argv[1:]),
               "machine": report.machine(), "rounds": args.rounds, "clients": args.clients,
               "seconds_per_run": args.seconds, "think": args.think,
               "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "samples": {n: [] for n in NAMES}}
    started = time.monotonic()
    configs = cryptos(os.urandom(32))
    cluster = SwiftCluster(nodes=3, proxies=2)
    try:
        cluster.start(configs["none"])
        current = "none"
        for rnd in range(args.rounds):
            order = list(NAMES[rnd % 3:] + NAMES[:rnd % 3])
            for config in order:
                if config != current:
                    for proxy in cluster.proxy_names:
                        cluster.reload_proxy(configs[config], proxy)
                    current = config
                sample = one_run(cluster, args.clients, args.seconds, args.think)
                results["samples"][config].append(sample)
                print("round %d %-10s %6.1f ops/s %7.2f MB/s, unexpected %d" % (
                    rnd + 1, config, sample["per_op"]["all"]["ops_per_s"],
                    sample["per_op"]["all"]["mb_per_s"], len(sample["failures"])),
                    flush=True)
    finally:
        cluster.stop()
    results["seconds"] = round(time.monotonic() - started, 1)
    summary = summarize(results["samples"])
    text = markdown(results, summary)
    print(text)
    failures = sum(len(s["failures"]) for r in results["samples"].values() for s in r)
    if failures:
        print("not written: %d unexpected errors (listed above)" % failures)
        return exitcodes.FAILED
    os.makedirs(args.out, exist_ok=True)
    report.write_json(os.path.join(args.out, name + ".json"), results, summary)
    with open(os.path.join(args.out, name + ".md"), "w") as fh:
        fh.write(text)
    print("wrote %s.{json,md} in %s (%.0f s)" % (name, args.out, results["seconds"]))
    return exitcodes.OK


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.multinode",
                                     description=__doc__.split("\n\n")[0])
    configure(parser)
    parser.epilog = exitcodes.epilog("1 when the clients saw an unexpected error (nothing "
                                     "written); 2 without the repository checkout.")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
