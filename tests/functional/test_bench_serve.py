"""`swiftcrypt bench --serve` starts a `swiftcrypt serve` per pipeline and
loads each over HTTP (tiny sizes: the machinery, not timings)."""

import argparse
import json

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
        "--serve", "--clients", "2", "--http-size", "300K", "--out", str(tmp_path),
        "--name", "serve", "--progress", "off", "--no-plot"])
    assert harness.run(args) == 0
    data = json.loads((tmp_path / "serve.json").read_text())
    names = pipelines.available()
    assert set(data["results"]["http"]) == set(names)
    for name in names:
        cell = data["results"]["http"][name]
        assert cell["put"] > 0 and cell["get"] > 0
    targets = data["summary"]["targets"]
    assert "http_swiftcrypt_get_vs_none" in targets
    if "swift" in names:
        assert "http_swiftcrypt_put_vs_swift" in targets
