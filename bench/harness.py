"""Measure swiftcrypt against no encryption and Swift's own crypto filters.

In-process (filters over an in-memory backend): PUT/GET throughput by
object size, small-request cost, container listing decryption, peak RSS
while streaming; optionally over HTTP (``--http-url``) and through a real
one-node Swift cluster (``--cluster``). Prints a table and writes a JSON
file (with the machine description) and a PNG plot.
"""

import os
import statistics
import sys
import time

from bench import inprocess, pipelines, report
from bench.progress import Progress

DEFAULT_SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20,
                 256 << 20]


def parse_size(text):
    text = text.strip().upper().rstrip("B").rstrip("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * mult)


def configure(parser):
    parser.add_argument("--max-size", type=parse_size, default=256 << 20,
                        help="largest object size (default 256M)")
    parser.add_argument("--huge", action="store_true", help="also 1 GiB objects")
    parser.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")],
                        help="comma-separated object sizes (overrides the defaults)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--listing-entries", type=int, default=10000)
    parser.add_argument("--rss-size", type=parse_size, default=4 << 30,
                        help="object streamed for the peak-RSS check (0: skip)")
    parser.add_argument("--pipelines", default=",".join(pipelines.NAMES),
                        help="none,swift,swiftcrypt (those available)")
    parser.add_argument("--chunk-size", type=int, default=65536,
                        help="backend read/write chunk (Swift's proxy uses 64 KiB)")
    parser.add_argument("--cluster", action="store_true",
                        help="also through a real one-node Swift (integration fixture)")
    parser.add_argument("--cluster-sizes", default="1K,64M")
    parser.add_argument("--serve", action="store_true",
                        help="also over HTTP: start `swiftcrypt serve` with each pipeline")
    parser.add_argument("--http-url", action="append", default=[], metavar="NAME=URL",
                        help="storage URL of a running proxy (e.g. swiftcrypt serve)")
    parser.add_argument("--http-token", default="", help="X-Auth-Token for --http-url")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--http-size", type=parse_size, default=16 << 20)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"),
                        help="directory for the JSON and PNG files")
    parser.add_argument("--name", default=None, help="file name stem (default: timestamp)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--progress", choices=("auto", "on", "off"), default="auto")


def run(args):
    names = pipelines.available([n for n in args.pipelines.split(",") if n])
    sizes = args.sizes or [s for s in DEFAULT_SIZES if s <= args.max_size]
    if args.huge and (1 << 30) not in sizes:
        sizes.append(1 << 30)
    sizes = sorted(set(sizes))
    cluster_sizes = [parse_size(s) for s in args.cluster_sizes.split(",")]
    steps = len(sizes) * args.rounds * len(names)
    steps += args.rounds * len(names) if args.listing_entries else 0
    steps += len(names) if args.rss_size else 0
    steps += len(args.http_url)
    steps += args.rounds * len(names) if args.serve else 0
    steps += args.rounds * 3 * len(cluster_sizes) if args.cluster else 0
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
            from bench import rss

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
            from bench import serve

            samples = serve.measure(names, args.http_size, args.clients, args.rounds, progress)
            results["serve_samples"] = samples
            for name, rounds in samples.items():
                results["http"][name] = {key: statistics.median(r[key] for r in rounds)
                                         for key in rounds[0]}
        if args.http_url:
            from bench import httpload

            data = os.urandom(args.http_size)
            for spec in args.http_url:
                label, _eq, url = spec.partition("=")
                httpload.ensure_container(url, args.http_token, "bench")
                results["http"][label] = httpload.load(
                    url, args.http_token, "bench", data, args.clients)
                progress.step("http %s" % label)
        if args.cluster:
            from bench import cluster

            if cluster.available():
                results["cluster"] = cluster.measure(cluster_sizes, args.rounds,
                                                     progress=progress)
            else:
                results["cluster_skipped"] = "integration fixture not importable"
    finally:
        progress.finish()
    summary = report.summarize(results)
    print(report.table(results, summary))
    os.makedirs(args.out, exist_ok=True)
    stem = args.name or "run-" + time.strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(args.out, stem + ".json")
    report.write_json(json_path, results, summary)
    print("\nwrote %s" % json_path)
    if not args.no_plot:
        png = os.path.join(args.out, stem + ".png")
        title = "%s, %s CPUs" % (results["machine"].get("cpu", "?"), results["machine"]["cpus"])
        if report.plot(png, summary, title):
            print("wrote %s" % png)
    return 0


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    configure(p)
    sys.exit(run(p.parse_args()))
