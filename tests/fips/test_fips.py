"""The FIPS tier: swiftcrypt's filters, ``swiftcrypt serve`` and
``swiftcrypt rekey`` in interpreters that refuse MD5 unless it is asked for
with ``usedforsecurity=False``, as a FIPS-mode host's Python does.

The refusal is arranged by ``site/sitecustomize.py`` (this machine has no
FIPS provider): every subprocess here starts with that directory on
PYTHONPATH, and so do the processes they start. The first tests prove the
guard refuses what a FIPS host refuses, and that the tier fails on code that
asks for MD5 without the flag.
"""

import os
import subprocess
import sys
import uuid

import pytest
import requests
from paste.deploy import loadapp

from tests.functional.conftest import start_server
from tests.functional.test_rekey_standalone import write_conf
from tests.support.rekeying import request, summary_counts

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GUARD_DIR = os.path.join(HERE, "site")
PIPELINE_RUN = os.path.join(HERE, "pipeline_run.py")
FIPS_ERROR = "[digital envelope routines] unsupported"
TIMEOUT = 120


def fips_env():
    """The environment of a FIPS-guarded interpreter (and its children)."""
    path = [GUARD_DIR, REPO] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path),
                PYTHONWARNINGS="ignore")


def run_fips(*args, cwd=None):
    """Run ``python *args`` under the guard; (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, *args], env=fips_env(), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


REFUSED = [
    "hashlib.md5(b'x')",
    "hashlib.md5()",
    "hashlib.new('md5', b'x')",
    "hashlib.new('MD5')",
    "_hashlib.openssl_md5(b'x')",
    "_hashlib.new('md5')",
    "_md5.md5(b'x')",
    "hmac.new(b'k', b'm', 'md5')",
    "hmac.new(b'k', b'm', hashlib.md5)",
    "hmac.digest(b'k', b'm', 'md5')",
]


@pytest.mark.parametrize("expr", REFUSED)
def test_guard_refuses_md5_without_the_flag(expr):
    status, _out, err = run_fips(
        "-c", "import hashlib, hmac, _hashlib, _md5; %s" % expr)
    assert status == 1
    assert "ValueError: " + FIPS_ERROR in err


def test_guard_allows_md5_for_integrity_and_everything_else():
    status, out, err = run_fips("-c", "\n".join([
        "import hashlib, hmac, sys",
        "assert sys.fips_md5_guard",
        "print(hashlib.md5(b'x', usedforsecurity=False).hexdigest())",
        "print(hashlib.new('md5', b'x', usedforsecurity=False).hexdigest())",
        "print(hashlib.sha256(b'x').hexdigest()[:8])",
        "print(hmac.new(b'k', b'm', 'sha256').hexdigest()[:8])"]))
    assert status == 0, err
    assert out.split() == ["9dd4e461268c8034f5c8564e155c67a6"] * 2 + ["2d711642", "b60090e3"]


def test_filters_in_a_pipeline(tmp_path):
    status, out, err = run_fips(PIPELINE_RUN, str(tmp_path))
    assert (status, out.strip()) == (0, "ok"), err[-3000:]


def test_the_tier_fails_on_code_that_asks_for_md5_without_the_flag(tmp_path):
    # The same run with swiftcrypt's one MD5 home dropping the flag (as the
    # code did before checksums.py): refused at import time already.
    bare = ("import hashlib, runpy, sys, types\n"
            "import swiftcrypt.common.checksums as c\n"
            "c.hashlib = types.SimpleNamespace("
            "md5=lambda data=b'', usedforsecurity=False: hashlib.md5(data))\n"
            "sys.argv = [%r, %r]\n"
            "runpy.run_path(%r, run_name='__main__')\n" % (
                PIPELINE_RUN, str(tmp_path), PIPELINE_RUN))
    status, out, err = run_fips("-c", bare)
    assert status == 1 and "ok" not in out
    assert "ValueError: " + FIPS_ERROR in err


def test_serve_over_http(tmp_path):
    """``swiftcrypt serve`` (two workers) generates its root secret, then
    stores and serves objects."""
    srv = start_server(tmp_path / "data", tmp_path / "serve.log", "--workers", "2",
                       env=fips_env())
    try:
        body = os.urandom(300000)
        with requests.Session() as http:
            container = "%s/v1/AUTH_test/c-%s" % (srv.url, uuid.uuid4().hex[:8])
            assert http.put(container).status_code == 201
            for i in range(4):  # more than one request, likely both workers
                put = http.put("%s/o%d" % (container, i), data=body,
                               headers={"X-Object-Meta-N": str(i)})
                assert put.status_code == 201, put.text
                got = http.get("%s/o%d" % (container, i))
                assert got.status_code == 200 and got.content == body
                assert got.headers["X-Object-Meta-N"] == str(i)
                assert got.headers["Etag"] == put.headers["Etag"]
            ranged = http.get(container + "/o0", headers={"Range": "bytes=10-99"})
            assert ranged.status_code == 206 and ranged.content == body[10:100]
            assert http.post(container + "/o0", headers={
                "X-Object-Meta-N": "z"}).status_code == 202
            assert http.head(container + "/o0").headers["X-Object-Meta-N"] == "z"
            listing = http.get(container + "?format=json").json()
            assert {e["hash"] for e in listing} == {put.headers["Etag"]}
    finally:
        status = srv.stop()
    log = srv.log_text()
    assert FIPS_ERROR not in log, log[-3000:]
    assert status == 0, log[-3000:]


def test_rekey(tmp_path):
    """``swiftcrypt rekey`` re-keys objects written under secret A to B and
    encrypts one written before encryption was on."""
    data_dir = str(tmp_path / "data")
    old = loadapp("config:" + write_conf(tmp_path / "a.conf", data_dir, ["A"], "A", False))
    plain = loadapp("config:" + write_conf(tmp_path / "p.conf", data_dir, ["A"], "A",
                                           False, ("disable_encryption = true",)))
    bodies = {"o1": os.urandom(70000), "o2": b"", "plain": os.urandom(1000)}
    assert request(old, "PUT", "AUTH_test", "c").status in (201, 202)
    for name, body in bodies.items():
        resp = request(plain if name == "plain" else old, "PUT", "AUTH_test", "c", name,
                       headers=[("X-Object-Meta-K", name)], body=body)
        assert resp.status == 201
    conf = write_conf(tmp_path / "rekey.conf", data_dir, ["A", "B"], "B", False)
    status, out, err = run_fips("-m", "swiftcrypt.cli", "rekey", "--config", conf,
                                "--account", "AUTH_test", "--encrypt-plaintext", cwd=REPO)
    assert status == 0, err[-3000:]
    counts = summary_counts(out)
    assert counts["re-keyed"] == 2 and counts["encrypted"] == 1, out
    new = loadapp("config:" + write_conf(tmp_path / "b.conf", data_dir, ["B"], "B", False))
    for name, body in bodies.items():
        resp = request(new, "GET", "AUTH_test", "c", name)
        assert resp.status == 200 and resp.data == body
        assert resp.header("X-Object-Meta-K") == name


def test_bench(tmp_path):
    """``swiftcrypt bench`` in-process (its backend checks each body's MD5)."""
    status, out, err = run_fips(
        "-m", "swiftcrypt.cli", "bench", "--sizes", "4K,1M", "--rounds", "1",
        "--listing-entries", "10", "--rss-size", "0", "--pipelines", "swiftcrypt",
        "--no-plot", "--progress", "off", "--out", str(tmp_path), cwd=REPO)
    assert status == 0, err[-3000:]
    assert "1 MiB     get" in out and os.listdir(tmp_path)
