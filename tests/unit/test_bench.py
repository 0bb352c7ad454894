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
    assert "Targets" in capsys.readouterr().out


def test_parse_size_and_human():
    assert harness.parse_size("64M") == 64 << 20
    assert harness.parse_size("1KiB") == 1024
    assert report.human(1 << 30) == "1 GiB"
