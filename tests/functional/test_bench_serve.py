"""`swiftcrypt bench --serve` starts a `swiftcrypt serve` per pipeline (and
per --serve-workers count) and loads each over HTTP, measuring the CPU of
the servers and of the load generator (tiny sizes: the machinery, not
timings)."""

import argparse
import json
import os
import signal

from bench import harness, pipelines, serve


def test_serve_configs_name_their_filters(tmp_path):
    assert "keymaster" not in serve.config_text("none", str(tmp_path))
    assert "egg:swift#encryption" in serve.config_text("swift", str(tmp_path))
    assert "egg:swiftcrypt#encryption" in serve.config_text("swiftcrypt", str(tmp_path))


def test_bench_serve_run(tmp_path):
    parser = argparse.ArgumentParser()
    harness.configure(parser)
    args = parser.parse_args([
        "--sizes", "1K", "--rounds", "1", "--listing-entries", "0", "--rss-size", "0",
        "--serve", "--serve-workers", "1,2", "--clients", "2", "--http-size", "300K",
        "--out", str(tmp_path),
        "--name", "serve", "--progress", "off", "--no-plot"])
    assert harness.run(args) == 0
    data = json.loads((tmp_path / "serve.json").read_text())
    names = pipelines.available()
    assert set(data["results"]["http"]) == set(names)
    for name in names:
        cell = data["results"]["http"][name]
        assert cell["put"] > 0 and cell["get"] > 0
    by_workers = data["results"]["serve_workers"]
    assert set(by_workers) == {"1", "2"}
    assert by_workers["1"] == data["results"]["http"]
    for name in names:
        cell = by_workers["2"][name]
        assert cell["put"] > 0 and cell["get"] > 0
        for op in ("put", "get"):
            # the client threads ran meanwhile (the server's few ms may be
            # below the clock tick: tree_cpu is tested on its own)
            assert cell[op + "_client_cpu"] > 0
            assert cell[op + "_server_cpu"] >= 0
    targets = data["summary"]["targets"]
    assert targets["serve_workers_2_vs_1_swiftcrypt_put"] > 0
    assert "http_swiftcrypt_get_vs_none" in targets
    if "swift" in names:
        assert "http_swiftcrypt_put_vs_swift" in targets


BURNER = r"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    "print('burnt', flush=True)\ntime.sleep(30)"], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(30)
"""


def test_tree_cpu_counts_the_workers_of_a_server():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", BURNER], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(proc.stdout.readline())
        # the parent idles: the 0.4 s are its child's (a forked worker, in serve)
        assert 0.35 <= serve.tree_cpu(proc.pid) < 5
    finally:
        if child is not None:
            os.kill(child, signal.SIGKILL)
        proc.kill()
        proc.wait()
    assert serve.tree_cpu(proc.pid) == 0.0  # gone
