"""Machine description, terminal table, JSON file and PNG plot."""

import json
import os
import platform
import statistics
import sys


def machine():
    info = {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_kib"] = int(f.readline().split()[1])
        with open("/proc/loadavg") as f:
            info["loadavg_at_start"] = f.read().split()[:3]
    except OSError:
        pass
    import ssl

    info["openssl"] = ssl.OPENSSL_VERSION
    for module in ("cryptography", "swift", "eventlet"):
        try:
            from importlib.metadata import version

            info[module] = version(module)
        except Exception:
            info[module] = None
    return info


def human(size):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return "%d %s" % (size >> shift, unit)
    return "%d B" % size


def _med(values):
    return statistics.median(values) if values else None


def _ratio(a, b):
    return a / b if a and b else None


def workers_bound(results, first, cell, op):
    """The most ``cell`` (more workers) could gain over ``first`` on this
    machine: its throughput if the server and the load generator, at the
    CPU cost per byte they showed in ``cell``, had every core to
    themselves, over ``first``'s throughput. None without the CPU figures."""
    cpus = (results.get("machine") or {}).get("cpus")
    server = cell.get(op + "_server_cpu")
    client = cell.get(op + "_client_cpu")
    if not cpus or not server or client is None or not first.get(op):
        return None
    return cpus / (server + client) * cell[op] / first[op]


def summarize(results):
    """Medians, throughputs, added costs and the issue's target ratios."""
    summary = {"objects": {}, "targets": {}}
    objs = results.get("objects")
    if objs:
        for op, per_name in objs.items():
            for name, per_size in per_name.items():
                for size, samples in per_size.items():
                    med = _med(samples)
                    row = summary["objects"].setdefault(op, {}).setdefault(name, {})
                    row[str(size)] = {"seconds": med, "bytes_per_second": size / med}
        t = summary["targets"]
        for op in ("put", "get"):
            per = summary["objects"][op]
            big = str(64 << 20)
            if "swift" in per and "swiftcrypt" in per and big in per["swift"]:
                t["%s_64MiB_vs_swift" % op] = _ratio(
                    per["swiftcrypt"][big]["bytes_per_second"],
                    per["swift"][big]["bytes_per_second"])
            small = "1024"
            if {"none", "swift", "swiftcrypt"} <= set(per) and small in per["none"]:
                base = per["none"][small]["seconds"]
                sw = per["swift"][small]["seconds"] - base
                sc = per["swiftcrypt"][small]["seconds"] - base
                t["%s_1KiB_added_us" % op] = {"swift": sw * 1e6, "swiftcrypt": sc * 1e6}
                t["%s_1KiB_added_cost_vs_swift" % op] = _ratio(sc, sw)
    lst = results.get("listing")
    if lst:
        meds = {name: _med(v) for name, v in lst["seconds"].items()}
        summary["listing"] = meds
        if "swift" in meds and "swiftcrypt" in meds:
            summary["targets"]["listing_speedup_vs_swift"] = _ratio(
                meds["swift"], meds["swiftcrypt"])
    if results.get("rss"):
        summary["targets"]["rss_growth_MiB"] = {
            r["pipeline"]: r["growth_kib"] / 1024 for r in results["rss"]}
    http = results.get("http")
    if http:
        summary["http"] = http
        if "none" in http:
            for name in http:
                if name != "none":
                    for op in ("put", "get"):
                        summary["targets"]["http_%s_%s_vs_none" % (name, op)] = _ratio(
                            http[name][op], http["none"][op])
            for name in http:
                for op in ("put", "get"):
                    # server CPU per byte: what load on the machine changes least
                    if name != "none" and op + "_server_cpu" in http[name]:
                        summary["targets"]["http_%s_%s_cpu_per_byte_vs_none" % (name, op)] = \
                            _ratio(http[name][op + "_server_cpu"] / http[name][op],
                                   http["none"][op + "_server_cpu"] / http["none"][op])
        if "swift" in http and "swiftcrypt" in http:
            for op in ("put", "get"):
                summary["targets"]["http_swiftcrypt_%s_vs_swift" % op] = _ratio(
                    http["swiftcrypt"][op], http["swift"][op])
    counts = results.get("serve_workers") or {}
    if len(counts) > 1:
        first = next(iter(counts))
        for count, per_name in counts.items():
            if count == first:
                continue
            for name, cell in per_name.items():
                for op in ("put", "get"):
                    key = "serve_workers_%s_vs_%s_%s_%s" % (count, first, name, op)
                    summary["targets"][key] = _ratio(cell[op], counts[first][name][op])
                    bound = workers_bound(results, counts[first][name], cell, op)
                    if bound is not None:
                        summary["targets"][key + "_bound"] = bound
    cl = results.get("cluster")
    if cl:
        cs = {}
        for name, per_size in cl.items():
            for size, runs in per_size.items():
                cs.setdefault(name, {})[str(size)] = {
                    k: _med([r[k] for r in runs]) for k in runs[0]}
        summary["cluster"] = cs
        big = str(64 << 20) if str(64 << 20) in cs.get("none", {}) else max(
            cs.get("none", {"0": 0}), key=int)
        for name in ("swift", "swiftcrypt"):
            if name in cs and "none" in cs:
                for op in ("put", "get"):
                    summary["targets"]["cluster_%s_%s_vs_unencrypted" % (name, op)] = _ratio(
                        cs[name][big][op], cs["none"][big][op])
    return summary


def table(results, summary):
    lines = []
    objs = summary.get("objects")
    if objs:
        names = list(next(iter(objs.values())))
        lines.append("In-process throughput (MB/s, median) and per-request time")
        head = "%-9s %-4s" % ("size", "op") + "".join("%18s" % n for n in names)
        if "swift" in names and "swiftcrypt" in names:
            head += "%16s" % "sc/swift"
        lines.append(head)
        sizes = sorted(int(s) for s in objs["put"][names[0]])
        for size in sizes:
            for op in ("put", "get"):
                row = "%-9s %-4s" % (human(size), op)
                for name in names:
                    cell = objs[op][name][str(size)]
                    row += "%10.0f %5.0fus" % (cell["bytes_per_second"] / 1e6,
                                               cell["seconds"] * 1e6) \
                        if size < (1 << 20) else "%10.0f %5.0fms" % (
                            cell["bytes_per_second"] / 1e6, cell["seconds"] * 1e3)
                if "swift" in names and "swiftcrypt" in names:
                    row += "%15.2fx" % (objs[op]["swiftcrypt"][str(size)]["bytes_per_second"]
                                        / objs[op]["swift"][str(size)]["bytes_per_second"])
                lines.append(row)
    if summary.get("listing"):
        lines.append("")
        lines.append("Listing of %d entries: " % results["listing"]["entries"] + ", ".join(
            "%s %.1f ms" % (n, s * 1e3) for n, s in summary["listing"].items()))
    if results.get("rss"):
        lines.append("")
        lines.append("Peak RSS growth streaming %s PUT+GET: " % human(results["rss"][0]["size"])
                     + ", ".join("%s %.1f MiB" % (r["pipeline"], r["growth_kib"] / 1024)
                                 for r in results["rss"]))
    if summary.get("http"):
        lines.append("")
        lines.append("Over HTTP, %d concurrent clients (MB/s aggregate; median latency ms)"
                     % results.get("http_clients", 0))
        for name, cell in summary["http"].items():
            lines.append("  %-10s %-8s PUT %8.1f MB/s %7.1f ms   GET %8.1f MB/s %7.1f ms" % (
                name, human(results.get("http_size", 0)), cell["put"] / 1e6,
                cell["put_latency"] * 1e3, cell["get"] / 1e6, cell["get_latency"] * 1e3))
    counts = results.get("serve_workers") or {}
    if len(counts) > 1 or any(k.endswith("_client_cpu") for per in counts.values()
                              for cell in per.values() for k in cell):
        lines.append("")
        lines.append("swiftcrypt serve --workers N, %d clients, %s (MB/s aggregate; CPU in "
                     "cores: the server's / the load generator's, of %s; the server's CPU "
                     "seconds per GB, the figure load on the machine changes least)" % (
                         results.get("http_clients", 0), human(results.get("http_size", 0)),
                         results.get("machine", {}).get("cpus", "?")))
        first = next(iter(counts))
        for count, per_name in counts.items():
            for name, cell in per_name.items():
                row = "  N=%-3s %-10s" % (count, name)
                for op in ("put", "get"):
                    row += "  %s %7.1f MB/s" % (op.upper(), cell[op] / 1e6)
                    if count != first:
                        row += " (%.2fx" % (cell[op] / counts[first][name][op])
                        bound = workers_bound(results, counts[first][name], cell, op)
                        row += ", bound %.2fx)" % bound if bound is not None else ")"
                    if op + "_client_cpu" in cell:
                        server = cell.get(op + "_server_cpu", 0.0)
                        row += " cpu %.2f/%.2f %.2f s/GB" % (server, cell[op + "_client_cpu"],
                                                            server / cell[op] * 1e9)
                lines.append(row)
    if summary.get("cluster"):
        lines.append("")
        lines.append("Real Swift cluster (MB/s, median; latency ms)")
        for name, per_size in summary["cluster"].items():
            for size, cell in sorted(per_size.items(), key=lambda kv: int(kv[0])):
                lines.append("  %-10s %-8s PUT %8.1f MB/s %7.1f ms   GET %8.1f MB/s %7.1f ms" % (
                    name, human(int(size)), cell["put"] / 1e6, cell["put_latency"] * 1e3,
                    cell["get"] / 1e6, cell["get_latency"] * 1e3))
    if summary.get("targets"):
        lines.append("")
        lines.append("Ratios (each beside its bound where one is measured)")
        for key, value in summary["targets"].items():
            if isinstance(value, dict):
                value = ", ".join("%s %.1f" % kv for kv in value.items())
            elif value is not None:
                value = "%.2f" % value
            lines.append("  %-40s %s" % (key, value))
    return "\n".join(lines)


def write_json(path, results, summary):
    def keys_to_str(obj):
        if isinstance(obj, dict):
            return {str(k): keys_to_str(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [keys_to_str(v) for v in obj]
        return obj

    with open(path, "w") as f:
        json.dump(keys_to_str({"results": results, "summary": summary}), f, indent=1,
                  sort_keys=True)


def short(size):
    """``1K``, ``64M``, ``1G``: a size as --sizes takes it."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return "%d%s" % (size >> shift, unit)
    return str(size)


def can_plot():
    """True if matplotlib can be imported (the bench extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


FILTERS = ("swift", "swiftcrypt")
LABELS = {"none": "no encryption", "swift": "Swift's filters", "swiftcrypt": "swiftcrypt",
          "swiftcrypt-verify": "swiftcrypt, verify_body"}
COLORS = {"none": "#9e9e9e", "swift": "#d95f02", "swiftcrypt": "#1b9e77",
          "swiftcrypt-verify": "#7570b3"}


def plot(path, summary, title="", results=None):
    """PNG comparing Swift's and swiftcrypt's filters: in-process
    throughput by object size (linear MB/s: the in-memory backend alone,
    which does no I/O, is left out, as its line would flatten theirs),
    swiftcrypt's throughput over Swift's per size, and, when measured,
    whole requests over HTTP and through a real Swift next to the
    unencrypted path. Raises ImportError without matplotlib (see
    can_plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objs = summary["objects"]
    filters = [n for n in objs["put"] if n != "none"]
    sizes = sorted(int(s) for s in objs["put"][filters[0]])
    xs = range(len(sizes))
    ticks = [human(s).replace(" ", "\n") for s in sizes]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for ax, op in zip(axes[0], ("put", "get")):
        for name in filters:
            per = objs[op][name]
            ax.plot(xs, [per[str(s)]["bytes_per_second"] / 1e6 for s in sizes], marker="o",
                    color=COLORS.get(name), label=LABELS.get(name, name))
        ax.set_xticks(list(xs))
        ax.set_xticklabels(ticks, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("object size")
        ax.set_ylabel("MB/s (median)")
        ax.set_title("%s throughput through the filters, in-process" % op.upper())
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
    ratio_ax = axes[1][0]
    if all(n in objs["put"] for n in FILTERS):
        width = 0.4
        for k, op in enumerate(("put", "get")):
            ratios = [objs[op]["swiftcrypt"][str(s)]["bytes_per_second"]
                      / objs[op]["swift"][str(s)]["bytes_per_second"] for s in sizes]
            bars = ratio_ax.bar([x + (k - 0.5) * width for x in xs], ratios, width,
                                label=op.upper(), color=("#1b9e77", "#66c2a5")[k])
            ratio_ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ratio_ax.axhline(1.0, color="#d95f02", linestyle="--", linewidth=1,
                         label="level with Swift")
        ratio_ax.set_xticks(list(xs))
        ratio_ax.set_xticklabels(ticks, fontsize=8)
        ratio_ax.set_ylim(0, max(2.5, ratio_ax.get_ylim()[1]))
        ratio_ax.set_xlabel("object size")
        ratio_ax.set_ylabel("swiftcrypt throughput / Swift's")
        ratio_ax.set_title("swiftcrypt against Swift's filters (higher: swiftcrypt faster)")
        ratio_ax.grid(True, axis="y", alpha=0.3)
        ratio_ax.legend(loc="upper right", fontsize=8)
    else:
        ratio_ax.set_visible(False)
    _plot_end_to_end(axes[1][1], summary, results or {})
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _plot_end_to_end(ax, summary, results):
    """Whole requests, where the unencrypted path does real work: over
    HTTP through ``swiftcrypt serve`` and through a real one-node Swift."""
    groups = []  # (label, {name: MB/s})
    http = summary.get("http") or {}
    for op in ("put", "get"):
        if http:
            groups.append(("serve, %d clients\n%s %s" % (
                results.get("http_clients", 0), human(results.get("http_size", 0)), op.upper()),
                           {n: cell[op] / 1e6 for n, cell in http.items()}))
    cluster = summary.get("cluster") or {}
    if cluster:
        big = max(int(s) for s in next(iter(cluster.values())))
        for op in ("put", "get"):
            groups.append(("Swift cluster\n%s %s" % (human(big), op.upper()),
                           {n: per[str(big)][op] / 1e6 for n, per in cluster.items()}))
    if not groups:
        ax.set_visible(False)
        return
    names = [n for n in ("none",) + FILTERS if any(n in g for _l, g in groups)]
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(groups))]
        bars = ax.bar(xs, [g.get(name, 0) for _l, g in groups], width,
                      label=LABELS.get(name, name), color=COLORS.get(name))
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _g in groups], fontsize=8)
    ax.set_ylabel("MB/s (median)")
    ax.set_title("Whole requests, with the unencrypted path")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def title_of(machine_info):
    """The plot's title: the machine it ran on."""
    return "%s, %s CPUs" % (machine_info.get("cpu", "?"), machine_info.get("cpus", "?"))


def replot(json_path, png_path=None):
    """Redraw the PNG of a written JSON file (e.g. after the plot's layout
    changed) without measuring again: ``python -m bench.report FILE.json``."""
    with open(json_path) as f:
        data = json.load(f)
    png_path = png_path or os.path.splitext(json_path)[0] + ".png"
    plot(png_path, data["summary"], title_of(data["results"]["machine"]), data["results"])
    return png_path


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print("wrote %s" % replot(arg))
