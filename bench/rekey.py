"""Re-key throughput (``swiftcrypt rekey``'s loop, in-process) against a
server-side copy of the same objects through the same pipeline, per object
size, sequential and at ``--concurrency``; and how closely ``--max-ops``
holds its rate.

The copy is what ``X-Copy-From`` makes a proxy do: Swift's ``copy``
middleware GETs the source through the rest of the pipeline (decrypting)
and PUTs it to the destination (encrypting); here the same GET and PUT go
through the tool's own pipeline, so both sides pay the same crypto and
backend costs and the ratio shows the tool's overhead (its raw HEAD, the
timestamp check).

    python -m bench.rekey --backend store --objects 200 --sizes 1K,4M
    python -m bench.rekey --backend cluster --objects 2000 --sizes 1K,4M

``store``: the embedded store in a temp dir; ``cluster``: a one-node
Swift (the integration fixture, needs the repository checkout).

Each run also records the CPU it used, the tool's and (on the cluster)
its servers' together, in cores (CPU seconds over wall seconds): where
the sequential run already keeps about one core busy, a machine of N
cores bounds the speed-up of any concurrency near N.
"""

import argparse
import base64
import json
import os
import sys
import tempfile
import time

from .harness import parse_size

SECRETS = {"A": bytes(range(32)), "B": bytes(range(1, 33))}


def store_confs(tmp):
    """``(writer conf under A, tool conf with A and B, active B)`` over a
    store in ``tmp``."""
    def conf(name, ids, active):
        lines = ["[pipeline:main]", "pipeline = keymaster encryption store", "",
                 "[filter:keymaster]", "use = egg:swiftcrypt#keymaster"]
        lines += ["encryption_root_secret_%s = %s" % (i, base64.b64encode(SECRETS[i]).decode())
                  for i in ids]
        lines += ["active_root_secret_id = %s" % active, "", "[filter:encryption]",
                  "use = egg:swiftcrypt#encryption", "", "[app:store]",
                  "use = egg:swiftcrypt#store", "data_dir = %s" % os.path.join(tmp, "data"), ""]
        path = os.path.join(tmp, name)
        with open(path, "w") as fh:
            fh.write("\n".join(lines))
        return path
    return conf("writer.conf", ["A"], "A"), conf("rekey.conf", ["A", "B"], "B")


def cluster_confs(cluster, tmp):
    """The same over a running one-node Swift (the tests' rekey config)."""
    import configparser

    from tests.integration.swift import test_rekey

    test_rekey.SECRETS.update(SECRETS)
    tool = test_rekey.rekey_conf(cluster, os.path.join(tmp, "rekey.conf"))
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(tool)
    keymaster = parser["filter:keymaster"]
    del keymaster["encryption_root_secret_B"]
    keymaster["active_root_secret_id"] = "A"
    # the bench's account is made by its first write, as a client's would be
    for section in parser.sections():
        if parser[section].get("use") == "egg:swift#proxy":
            parser[section]["account_autocreate"] = "true"
    writer = os.path.join(tmp, "writer.conf")
    with open(writer, "w") as fh:
        parser.write(fh)
    return writer, tool


def _parallel(work, items, concurrency):
    import eventlet

    pool = eventlet.GreenPool(concurrency)
    return list(pool.imap(work, items))


def populate(app, account, container, count, size, concurrency=16):
    """``count`` objects of ``size`` random bytes under the writer's secret."""
    from swiftcrypt.common.wsgiclient import call
    from tests.support.rekeying import request

    call(app, "PUT", "/v1/%s/%s" % (account, container)).close()
    data = os.urandom(size)

    def put(i):
        resp = request(app, "PUT", account, container, "o%06d" % i, body=data)
        assert resp.status == 201, resp.status
    _parallel(put, range(count), concurrency)
    return ["o%06d" % i for i in range(count)]


def copy_all(app, account, container, names, concurrency, pids=()):
    """Server-side copy of every object (GET decrypted, PUT encrypted),
    streamed, through ``app``; ``(seconds, cores)``: the time it took and
    the CPU it used, ``{process: cores busy}`` (cores_since)."""
    from swiftcrypt.common.wsgiclient import IterReader, call

    call(app, "PUT", "/v1/%s/%s-copy" % (account, container)).close()

    def copy(name):
        got = call(app, "GET", "/v1/%s/%s/%s" % (account, container, name))
        assert got.status == 200, got.status
        put = call(app, "PUT", "/v1/%s/%s-copy/%s" % (account, container, name),
                   [("Content-Length", got.header("Content-Length"))],
                   body=IterReader(got.body()))
        put.close()
        assert put.status == 201, put.status
    started, before = time.monotonic(), cpu_by_process(pids)
    _parallel(copy, names, concurrency)
    seconds = time.monotonic() - started
    return seconds, cores_since(before, seconds, pids)


def cpu_by_process(pids):
    """``{name: CPU seconds so far}``: ``tool`` (this process: the tool and,
    on the cluster, the proxy app it loads) and each of ``pids`` (a dict
    ``{name: pid}``, or a list: named by position), children included."""
    import psutil

    named = pids.items() if isinstance(pids, dict) else (
        (str(i), pid) for i, pid in enumerate(pids))
    used = {"tool": time.process_time()}
    for name, pid in named:
        used[name] = 0.0
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for one in procs:
            try:
                times = one.cpu_times()
            except psutil.NoSuchProcess:
                continue
            used[name] += times.user + times.system
    return used


def cores_since(before, seconds, pids):
    """``{name: cores busy}`` since ``before`` (a cpu_by_process) over
    ``seconds`` of wall time."""
    now = cpu_by_process(pids)
    return {name: (now[name] - before.get(name, 0.0)) / seconds if seconds else 0.0
            for name in now}


def rekey_all(app, account, container, concurrency, throttle=None, pids=()):
    """``(seconds, counts)`` of re-keying ``container``; the counts carry
    ``_cores``: ``{process: cores busy}`` (cores_since; ``tool`` is this
    process)."""
    from swiftcrypt.rekey import run

    rekeyer = run.Rekeyer(app, account, throttle=throttle)
    started, before = time.monotonic(), cpu_by_process(pids)
    counts = rekeyer.run(container, concurrency=concurrency)
    seconds = time.monotonic() - started
    counts["_cores"] = cores_since(before, seconds, pids)
    return seconds, counts


def speedup_bound(cores, cpus):
    """What the CPU allows any concurrency to gain over a sequential run
    that kept ``cores`` (``{process: cores busy}``) busy, on ``cpus``
    cores: every process at once can use at most ``cpus`` (``cpus / total``)
    and each one-threaded process (the tool with its in-process proxy
    app: one interpreter; a server with ``workers = 0``) at most one
    (``1 / its share``). ``{"bound": x, "why": text}``."""
    total = sum(cores.values())
    limits = [(cpus / total if total else float("inf"),
               "the sequential run kept %.2f of %d cores busy" % (total, cpus))]
    for name, used in sorted(cores.items()):
        if used > 0:
            limits.append((1 / used, "%s, one process, used %.2f of a core" % (name, used)))
    bound, why = min(limits)
    return {"bound": bound, "why": why}


def measure(writer, tool, objects, sizes, concurrency, max_ops, ops_objects, pids=()):
    """The figures (a JSON-able dict); ``pids``: the backend's server
    processes (``{name: pid}``), whose CPU is counted with the tool's."""
    from swiftcrypt.cli import rekey as rekeycli
    from swiftcrypt.cli.rekey import load_pipeline
    from swiftcrypt.rekey import run as rekeyrun

    account = "AUTH_bench%d" % os.getpid()
    writer_app, app = load_pipeline(writer), load_pipeline(tool)
    out = {"objects": objects, "runs": []}
    for size in sizes:
        count = objects if size <= (64 << 10) else max(4, objects // 50)
        for conc in (1, concurrency):
            cont = "s%d-c%d" % (size, conc)
            names = populate(writer_app, account, cont, count, size)
            copy_s, copy_cores = copy_all(app, account, cont, names, conc, pids)
            rekey_s, counts = rekey_all(app, account, cont, conc, pids=pids)
            assert counts[rekeyrun.REKEYED] == count, counts
            cores = counts.pop("_cores")
            run = {"size": size, "count": count, "concurrency": conc,
                   "tool_cpu": cores["tool"],
                   "copy_cores": sum(copy_cores.values()), "rekey_cores": sum(cores.values()),
                   "copy_cores_by_process": copy_cores, "rekey_cores_by_process": cores,
                   "copy_objects_s": count / copy_s, "rekey_objects_s": count / rekey_s,
                   "copy_mb_s": count * size / copy_s / 1e6,
                   "rekey_mb_s": count * size / rekey_s / 1e6,
                   "rekey_vs_copy": copy_s / rekey_s}
            out["runs"].append(run)
            print("%8d B x %5d  concurrency %2d: copy %8.1f obj/s %7.1f MB/s, rekey %8.1f "
                  "obj/s %7.1f MB/s, rekey/copy %.2f; cores busy: copy %.2f, rekey %.2f "
                  "(of %d: %s)" % (
                      size, count, conc, run["copy_objects_s"], run["copy_mb_s"],
                      run["rekey_objects_s"], run["rekey_mb_s"], run["rekey_vs_copy"],
                      run["copy_cores"], run["rekey_cores"], os.cpu_count(),
                      ", ".join("%s %.2f" % item for item in sorted(cores.items()))),
                  flush=True)
    for size in sizes:
        seq = [r for r in out["runs"] if r["size"] == size and r["concurrency"] == 1][0]
        par = [r for r in out["runs"] if r["size"] == size and r["concurrency"] == concurrency][0]
        speedup = par["rekey_objects_s"] / seq["rekey_objects_s"]
        bound = speedup_bound(seq["rekey_cores_by_process"], os.cpu_count())
        out.setdefault("speedup", {})[size] = speedup
        out.setdefault("speedup_bound", {})[size] = bound
        print("%8d B: --concurrency %d is %.2fx the sequential re-key; the CPU bounds it "
              "at %.2fx (%s)" % (size, concurrency, speedup, bound["bound"], bound["why"]),
              flush=True)
    if max_ops:
        names = populate(writer_app, account, "ops", ops_objects, 1024)
        # the command's own limiter (its token bucket and green sleep)
        throttle = rekeycli._throttle(argparse.Namespace(max_ops=max_ops, max_bytes=0))
        seconds, counts = rekey_all(app, account, "ops", concurrency, throttle)
        counts.pop("_cores")
        items = sum(counts.values())
        # the first second's burst is free: the steady rate excludes it
        steady = (items - max_ops) / seconds if seconds > 0 else 0
        out["max_ops"] = {"limit": max_ops, "items": items, "seconds": seconds,
                          "rate": items / seconds, "steady_rate": steady,
                          "error": steady / max_ops - 1}
        # a limit above what the backend does unlimited tests the backend
        free = [r["rekey_objects_s"] for r in out["runs"]
                if r["concurrency"] == concurrency and r["size"] <= 1024]
        out["max_ops"]["unlimited_rate"] = free[0] if free else None
        out["max_ops"]["within_10_percent"] = abs(steady / max_ops - 1) <= 0.10
        print("--max-ops %g: %d items in %.2fs, %.1f/s (after the first second's burst "
              "%.1f/s, %+.1f%%: %s)%s" % (
                  max_ops, items, seconds, items / seconds, steady,
                  100 * (steady / max_ops - 1),
                  "within 10%" if out["max_ops"]["within_10_percent"] else "NOT within 10%",
                  " - above the unlimited rate, %.1f/s: lower it" % free[0]
                  if free and max_ops > 0.9 * free[0] else ""), flush=True)
        del names
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.rekey",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("store", "cluster"), default="store")
    parser.add_argument("--objects", type=int, default=200,
                        help="1 KiB objects per run (larger sizes: a fiftieth, at least 4)")
    parser.add_argument("--sizes", default="1K,4M")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ops", type=float, default=50)
    parser.add_argument("--ops-objects", type=int, default=200)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.append(root)
    with tempfile.TemporaryDirectory(prefix="swiftcrypt-bench-rekey-") as tmp:
        if args.backend == "store":
            writer, tool = store_confs(tmp)
            results = measure(writer, tool, args.objects, sizes, args.concurrency,
                              args.max_ops, args.ops_objects)
        else:
            from tests.integration.swift_cluster import Crypto, SwiftCluster

            with SwiftCluster() as cluster:
                cluster.start(Crypto())
                writer, tool = cluster_confs(cluster, tmp)
                pids = {name: proc.pid for name, proc in cluster.procs.items()}
                results = measure(writer, tool, args.objects, sizes, args.concurrency,
                                  args.max_ops, args.ops_objects, pids)
    from . import report

    results.update(backend=args.backend, machine=report.machine(),
                   started=time.strftime("%Y-%m-%dT%H:%M:%S"))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "rekey-%s-%s.json" % (args.backend,
                                                       time.strftime("%Y%m%d-%H%M%S")))
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, sort_keys=True)
    print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
