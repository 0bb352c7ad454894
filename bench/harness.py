"""Measure swiftcrypt against no encryption and Swift's own crypto filters.

In-process (filters over an in-memory backend): PUT/GET throughput by
object size, small-request cost, container listing decryption, peak RSS
while streaming; optionally over HTTP (``--http-url``, ``--serve``) and
through a real one-node Swift cluster (``--cluster``). Prints a table and
writes a JSON file (with the machine description) and a PNG plot into
``--out`` (the current directory by default).
"""

import argparse
import os
import statistics
import sys
import time

from swiftcrypt.cli import exitcodes

from . import inprocess, pipelines, report
from .progress import Progress

DEFAULT_SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20,
                 256 << 20]


def parse_size(text):
    text = text.strip().upper().rstrip("B").rstrip("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * mult)


# measured: a default run took 2 min wall time (1.3 GB peak RSS) on two
# shared cores; the options that scale it are named
DEFAULT_DURATION = ("a default run (objects up to 256 MiB, 5 rounds, a 4 GiB RSS check) "
                    "takes about 2 minutes on two cores and up to 1.4 GB of memory; "
                    "--max-size, --rounds and --rss-size 0 make it shorter, --serve and "
                    "--cluster add several minutes each")
EXIT_DETAILS = ("For bench: 2 when something a run needs is missing (Swift's filters "
                "for --pipelines swift, matplotlib for the plot, the repository checkout "
                "for --cluster), before anything is measured.")
INSTALL_HINT = "pip install 'swiftcrypt[bench]' (from a checkout: pip install -e '.[bench]')"


def configure(parser):
    """Add the bench options; every one says its default."""
    parser.description = (
        "Measure swiftcrypt against no encryption and Swift's own crypto filters "
        "(interleaved, medians): PUT/GET throughput by object size, small-request cost, "
        "listing decryption and peak RSS in-process; optionally over HTTP (--serve, "
        "--http-url) and through a real one-node Swift (--cluster). Prints a table and "
        "writes NAME.json and NAME.png into --out. Needs Swift's filters and matplotlib: "
        "%s. %s." % (INSTALL_HINT, DEFAULT_DURATION[0].upper() + DEFAULT_DURATION[1:]))
    parser.epilog = exitcodes.epilog(EXIT_DETAILS)
    parser.add_argument("--max-size", type=parse_size, default=256 << 20, metavar="SIZE",
                        help="largest object size of the default sizes (default: 256M)")
    parser.add_argument("--huge", action="store_true",
                        help="also 1 GiB objects (default: off)")
    parser.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")],
                        metavar="SIZE,...",
                        help="comma-separated object sizes, e.g. 1K,64M (default: %s, up "
                             "to --max-size)" % ",".join(report.short(s) for s in DEFAULT_SIZES))
    parser.add_argument("--rounds", type=int, default=5, metavar="N",
                        help="interleaved rounds; figures are their medians (default: "
                             "%(default)s)")
    parser.add_argument("--listing-entries", type=int, default=10000, metavar="N",
                        help="entries in the listing whose decryption is timed; 0 skips it "
                             "(default: %(default)s)")
    parser.add_argument("--rss-size", type=parse_size, default=4 << 30, metavar="SIZE",
                        help="object streamed for the peak-RSS check; 0 skips it "
                             "(default: 4G)")
    parser.add_argument("--pipelines", default=",".join(pipelines.NAMES), metavar="NAMES",
                        help="comma-separated pipelines among %s (default: %%(default)s)"
                             % ",".join(pipelines.NAMES + pipelines.OPTIONAL))
    parser.add_argument("--chunk-size", type=int, default=65536, metavar="BYTES",
                        help="backend read/write chunk; Swift's proxy uses 64 KiB "
                             "(default: %(default)s)")
    parser.add_argument("--cluster", action="store_true",
                        help="also through a real one-node Swift (the integration fixture: "
                             "a repository checkout, root, several minutes; default: off)")
    parser.add_argument("--cluster-sizes", default="1K,64M", metavar="SIZE,...",
                        help="object sizes for --cluster (default: %(default)s)")
    parser.add_argument("--serve", action="store_true",
                        help="also over HTTP: start `swiftcrypt serve` with each pipeline "
                             "(default: off)")
    parser.add_argument("--serve-workers", type=_worker_counts, default=[1],
                        metavar="N,...",
                        help="--serve: each pipeline under `swiftcrypt serve --workers N` "
                             "for each N, e.g. 1,2 (aggregate throughput, the servers' and "
                             "the load generator's CPU, and each count's ratio to the "
                             "first; default: 1)")
    parser.add_argument("--http-url", action="append", default=[], metavar="NAME=URL",
                        help="storage URL of a running proxy to load, e.g. a swiftcrypt "
                             "serve; repeatable (default: none)")
    parser.add_argument("--http-token", default="", metavar="TOKEN",
                        help="X-Auth-Token for --http-url (default: none)")
    parser.add_argument("--clients", type=int, default=4, metavar="N",
                        help="concurrent HTTP clients for --serve and --http-url "
                             "(default: %(default)s)")
    parser.add_argument("--http-size", type=parse_size, default=16 << 20, metavar="SIZE",
                        help="object size for --serve and --http-url (default: 16M)")
    parser.add_argument("--out", default=".", metavar="DIR",
                        help="directory for the JSON and PNG files, created if needed "
                             "(default: the current directory)")
    parser.add_argument("--name", default=None,
                        help="file name stem (default: run-YYYYmmdd-HHMMSS)")
    parser.add_argument("--no-plot", action="store_true",
                        help="write no PNG plot, so matplotlib is not needed (default: off)")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                        help="progress bar on stderr; auto: when stderr is a terminal "
                             "(default: %(default)s)")


def _worker_counts(text):
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(
            "%r is not a comma-separated list of distinct positive numbers" % text)
    return counts


class Missing(Exception):
    """Something the run asked for cannot be measured here; one line."""


def check_requirements(args, names):
    """Refuse, before measuring anything, a run whose results would lack
    what was asked for (a silently missing column or plot)."""
    unknown = [n for n in names if n not in pipelines.NAMES + pipelines.OPTIONAL]
    if unknown:
        raise Missing("unknown pipeline(s) %s: choose among %s" % (
            ",".join(unknown), ",".join(pipelines.NAMES + pipelines.OPTIONAL)))
    if "swift" in names and not pipelines.swift_available():
        raise Missing("Swift's crypto filters are not installed, so the 'swift' column "
                      "cannot be measured: %s, or pass --pipelines none,swiftcrypt"
                      % INSTALL_HINT)
    if not args.no_plot and not report.can_plot():
        raise Missing("matplotlib is not installed, so no plot can be drawn: %s, or pass "
                      "--no-plot" % INSTALL_HINT)
    if args.cluster:
        from . import cluster

        if not cluster.available():
            raise Missing("--cluster needs the integration fixture of a repository checkout "
                          "(tests/integration/swift_cluster.py) and its test extras: run "
                          "it from a clone with pip install -e '.[test,bench]'")


def run(args):
    """Measure, print the table, write the files; the exit status."""
    names = [n for n in args.pipelines.split(",") if n]
    try:
        check_requirements(args, names)
    except Missing as err:
        sys.stderr.write("swiftcrypt bench: %s\n" % err)
        return exitcodes.USAGE
    sizes = args.sizes or [s for s in DEFAULT_SIZES if s <= args.max_size]
    if args.huge and (1 << 30) not in sizes:
        sizes.append(1 << 30)
    sizes = sorted(set(sizes))
    cluster_sizes = [parse_size(s) for s in args.cluster_sizes.split(",")]
    steps = len(sizes) * args.rounds * len(names)
    steps += args.rounds * len(names) if args.listing_entries else 0
    steps += len(names) if args.rss_size else 0
    steps += len(args.http_url)
    steps += args.rounds * len(names) * len(args.serve_workers) if args.serve else 0
    steps += args.rounds * 3 * len(cluster_sizes) if args.cluster else 0
    started = time.monotonic()
    progress = Progress(steps, {"auto": None, "on": True, "off": False}[args.progress])
    results = {"machine": report.machine(), "pipelines": names, "rounds": args.rounds,
               "chunk_size": args.chunk_size, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        data = inprocess.random_data(max(sizes))
        results["objects"] = inprocess.measure_objects(
            names, sizes, args.rounds, data, progress, args.chunk_size)
        del data
        if args.listing_entries:
            results["listing"] = {"entries": args.listing_entries,
                                  "seconds": inprocess.measure_listing(
                                      names, args.listing_entries, args.rounds, progress)}
        if args.rss_size:
            from . import rss

            results["rss"] = []
            for name in names:
                progress.set_label("rss %s %s" % (name, report.human(args.rss_size)))
                results["rss"].append(rss.measure(name, args.rss_size))
                progress.step("rss %s" % name)
        if args.http_url or args.serve:
            results["http"] = {}
            results["http_clients"] = args.clients
            results["http_size"] = args.http_size
        if args.serve:
            from . import serve

            by_workers = serve.measure(names, args.http_size, args.clients, args.rounds,
                                       progress, args.serve_workers)
            first = args.serve_workers[0]
            results["serve_samples"] = by_workers[first]
            results["serve_workers"] = {
                str(count): {name: {key: statistics.median(r[key] for r in rounds)
                                    for key in rounds[0]}
                             for name, rounds in samples.items()}
                for count, samples in by_workers.items()}
            results["http"].update(results["serve_workers"][str(first)])
        if args.http_url:
            from . import httpload

            data = os.urandom(args.http_size)
            for spec in args.http_url:
                label, _eq, url = spec.partition("=")
                httpload.ensure_container(url, args.http_token, "bench")
                results["http"][label] = httpload.load(
                    url, args.http_token, "bench", data, args.clients)
                progress.step("http %s" % label)
        if args.cluster:
            from . import cluster

            results["cluster"] = cluster.measure(cluster_sizes, args.rounds,
                                                 progress=progress)
    finally:
        progress.finish()
    results["seconds"] = round(time.monotonic() - started, 1)
    summary = report.summarize(results)
    print(report.table(results, summary))
    os.makedirs(args.out, exist_ok=True)
    stem = args.name or "run-" + time.strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(args.out, stem + ".json")
    report.write_json(json_path, results, summary)
    print("\nwrote %s" % json_path)
    if not args.no_plot:
        png = os.path.join(args.out, stem + ".png")
        report.plot(png, summary, report.title_of(results["machine"]), results)
        print("wrote %s" % png)
    print("(%.0f s)" % results["seconds"])
    return exitcodes.OK


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    configure(p)
    sys.exit(run(p.parse_args()))
