"""The benchmark machinery works (a tiny run); no timing is asserted."""

import json
import os

import pytest

from bench import client, harness, inprocess, pipelines, report
from bench.backend import MemoryBackend


@pytest.mark.parametrize("name", pipelines.available())
def test_pipelines_round_trip_through_memory_backend(name):
    app, backend = pipelines.make(name, verify=True)
    body = os.urandom(300000)
    status, _headers = client.put(app, "/v1/a/c/o", body)
    assert status.startswith("201")
    status, _headers, n, got = client.get(app, "/v1/a/c/o", keep=True)
    assert status.startswith("200") and n == len(body) and got == body
    stored = b"".join(backend.objects["/v1/a/c/o"].chunks)
    assert (stored == body) == (name == "none")


def test_swift_reads_what_swiftcrypt_wrote_in_the_bench_backend():
    backend = MemoryBackend(verify=True)
    body = os.urandom(2 << 20)  # past the inline-hashing threshold
    client.put(pipelines.build("swiftcrypt", backend), "/v1/a/c/o", body)
    got = client.get(pipelines.build("swift", backend), "/v1/a/c/o", keep=True)[3]
    assert got == body


def test_encrypted_listing_decrypts():
    names = pipelines.available(("swift", "swiftcrypt"))
    out = inprocess.measure_listing(names, 50, 1)  # checks every etag itself
    assert set(out) == set(names)


def test_tiny_run_writes_json_and_table(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    harness.configure(parser)
    args = parser.parse_args(["--sizes", "1K,300K", "--rounds", "1", "--listing-entries",
                              "20", "--rss-size", "1M", "--out", str(tmp_path), "--name",
                              "tiny", "--progress", "off", "--no-plot"])
    assert harness.run(args) == 0
    data = json.loads((tmp_path / "tiny.json").read_text())
    assert data["results"]["machine"]["cpus"]
    assert "put" in data["summary"]["objects"]
    assert "Ratios (each beside its bound" in capsys.readouterr().out


def test_parse_size_and_human():
    assert harness.parse_size("64M") == 64 << 20
    assert harness.parse_size("1KiB") == 1024
    assert report.human(1 << 30) == "1 GiB"


def _args(*argv):
    import argparse

    parser = argparse.ArgumentParser()
    harness.configure(parser)
    return parser.parse_args(list(argv))


def test_default_output_folder_is_the_current_directory():
    assert _args().out == "."


@pytest.mark.parametrize("missing, argv, says", [
    ("swift", [], "Swift's crypto filters are not installed"),
    ("matplotlib", [], "matplotlib is not installed"),
    (None, ["--pipelines", "none,nope"], "unknown pipeline(s) nope"),
])
def test_a_run_missing_what_it_needs_stops_before_measuring(missing, argv, says, monkeypatch,
                                                            tmp_path, capsys):
    # after the README's plain install, bench dropped Swift's column and
    # the plot without a word
    if missing == "swift":
        monkeypatch.setattr(pipelines, "swift_available", lambda: False)
    if missing == "matplotlib":
        monkeypatch.setattr(report, "can_plot", lambda: False)
    monkeypatch.setattr(inprocess, "measure_objects", lambda *a, **k: pytest.fail("measured"))
    status = harness.run(_args("--out", str(tmp_path), *argv))
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and says in err, err
    if missing:
        assert "pip install 'swiftcrypt[bench]'" in err
    assert list(tmp_path.iterdir()) == []


def test_plot_compares_the_filters_and_replots_from_json(tmp_path, capsys):
    status = harness.run(_args("--sizes", "1K,300K", "--rounds", "1", "--listing-entries",
                               "0", "--rss-size", "0", "--out", str(tmp_path), "--name", "p",
                               "--progress", "off"))
    assert status == 0
    png = tmp_path / "p.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png.unlink()
    assert report.replot(str(tmp_path / "p.json")) == str(png) and png.exists()


def test_short_size():
    assert [report.short(s) for s in (1024, 16 << 20, 1 << 30, 1000)] == [
        "1K", "16M", "1G", "1000"]


def test_multinode_report_medians_ratios_and_every_non_2xx():
    from bench import multinode

    def sample(ops, nbytes, failures=()):
        per = {"get": {"ops": ops, "bytes": nbytes, "ops_per_s": ops / 10.0,
                       "mb_per_s": nbytes / 10e6, "mean_latency_ms": 1000.0 / ops}}
        return {"seconds": 10.0, "per_op": per, "expected non-2xx": {"get-deleted 404": 2},
                "stale keep-alive retries": 0, "failures": list(failures)}
    samples = {"none": [sample(100, 10**7), sample(300, 3 * 10**7), sample(200, 2 * 10**7)],
               "swift": [sample(50, 5 * 10**6)] * 3,
               "swiftcrypt": [sample(100, 10**7), sample(100, 10**7),
                              sample(100, 10**7, ["t=1.0s ... get -> 503: why"])]}
    summary = multinode.summarize(samples)
    assert summary["medians"]["none"]["get"]["ops_per_s"] == 20.0
    assert summary["ratios"]["swiftcrypt/swift"]["get"]["ops_per_s"] == 2.0
    assert summary["ratios"]["swiftcrypt/none"]["get"]["mb_per_s"] == 0.5
    results = {"name": "t", "command": "python -m bench.multinode", "machine": {},
               "clients": 16, "seconds_per_run": 10, "think": 0.0, "rounds": 3,
               "samples": samples}
    text = multinode.markdown(results, summary)
    assert "| get | 20.0 | 2.00 | 5 |" in text
    assert "t=1.0s ... get -> 503: why" in text and "'get-deleted 404': 2" in text


@pytest.mark.parametrize("op", ["put", "get"])
def test_percall_sends_its_requests(op):
    from bench import percall

    for objects in ("same", "distinct"):
        percall.run("swiftcrypt", op, 3, objects)  # raises on a wrong status or body
    with pytest.raises(ValueError):
        percall.run("swiftcrypt", op, percall.DISTINCT, "distinct")

def test_serve_workers_ratios_bounds_and_cpu_per_byte():
    """Two worker counts: each pipeline's ratio, the bound from the CPU the
    server and the load generator used (all cores at that cost per byte),
    and encrypted/unencrypted server CPU per byte."""
    from bench import report

    def cell(put, server, client):
        return {"put": put, "get": put, "put_server_cpu": server, "get_server_cpu": server,
                "put_client_cpu": client, "get_client_cpu": client,
                "put_latency": 1, "get_latency": 1}

    counts = {"1": {"none": cell(100e6, 0.9, 0.1), "swiftcrypt": cell(60e6, 1.2, 0.1)},
              "2": {"none": cell(150e6, 1.5, 0.1), "swiftcrypt": cell(65e6, 1.5, 0.1)}}
    results = {"machine": {"cpus": 2}, "serve_workers": counts, "http": counts["1"],
               "http_clients": 8, "http_size": 16 << 20}
    targets = report.summarize(results)["targets"]
    assert targets["serve_workers_2_vs_1_none_put"] == 1.5
    assert round(targets["serve_workers_2_vs_1_swiftcrypt_put_bound"], 3) == \
        round(2 / 1.6 * 65 / 60, 3)
    assert round(targets["http_swiftcrypt_put_cpu_per_byte_vs_none"], 3) == \
        round((1.2 / 60) / (0.9 / 100), 3)
    text = report.table(results, report.summarize(results))
    assert "bound 1.35x" in text and "N=2" in text
