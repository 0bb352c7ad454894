"""`swiftcrypt serve --workers N`: N processes share the port, a dead one is
replaced, SIGTERM stops them all, start-up errors are still one line."""

import os
import signal
import time
import uuid

import requests

from swiftcrypt.common.checksums import md5
from tests.functional.conftest import start_server
from tests.functional.test_serve_cli import _one_error_line, _run_refused


def _children(pid):
    """Pids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def _wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_workers_share_the_port_and_are_replaced(tmp_path):
    srv = start_server(tmp_path / "data", tmp_path / "w.log", "--workers", "2")
    try:
        assert "with 2 workers" in srv.log_text()
        workers = _wait_for(lambda: len(_children(srv.proc.pid)) == 2 and
                            _children(srv.proc.pid))
        assert len(workers) == 2
        container = "%s/v1/AUTH_test/c-%s" % (srv.url, uuid.uuid4().hex[:8])
        bodies = {"o%d" % i: os.urandom(300000 + i) for i in range(8)}
        with requests.Session() as http:
            assert http.put(container).status_code == 201
            for name, body in bodies.items():
                assert http.put(container + "/" + name, data=body).status_code == 201
        # fresh connections land on either worker: every one reads every object
        for name, body in bodies.items():
            resp = requests.get(container + "/" + name, headers={"Connection": "close"})
            assert resp.status_code == 200 and resp.content == body
        assert requests.get(container).text.split() == sorted(bodies)

        os.kill(workers[0], signal.SIGKILL)
        replaced = _wait_for(lambda: (len(_children(srv.proc.pid)) == 2 and
                                      workers[0] not in _children(srv.proc.pid)))
        assert replaced, _children(srv.proc.pid)
        assert _wait_for(lambda: "exited (killed by signal 9); starting another"
                         in srv.log_text()), srv.log_text()
        for name, body in bodies.items():
            resp = requests.get(container + "/" + name, headers={"Connection": "close"})
            assert resp.status_code == 200 and resp.content == body
        survivors = _children(srv.proc.pid)
    finally:
        assert srv.stop() == 0
    for pid in survivors:
        assert not os.path.exists("/proc/%d" % pid) or _zombie_or_gone(pid)
    assert "Traceback" not in srv.log_text()


def _zombie_or_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_pipeline_error_is_one_line_with_workers(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "[pipeline:main]\npipeline = encryption store\n"
        "[filter:encryption]\nuse = egg:swiftcrypt#encryption\nverify_body = maybe\n"
        "[app:store]\nuse = egg:swiftcrypt#store\ndata_dir = %(data_dir)s\n")
    status, lines = _run_refused(tmp_path, "--config", str(conf), "--workers", "3")
    assert status == 2
    assert "verify_body" in _one_error_line(lines)


def test_bad_workers_value_is_one_line(tmp_path):
    status, lines = _run_refused(tmp_path, "--workers", "none")
    assert status == 2
    assert "--workers" in _one_error_line(lines)
    assert not (tmp_path / "data").exists()


def test_workers_stay_consistent_under_concurrent_writes(tmp_path):
    """Two processes writing, posting, reading and deleting the same objects:
    every read is a whole body that was written, with its own etag, and the
    listing ends up agreeing with the objects."""
    import threading

    srv = start_server(tmp_path / "data", tmp_path / "w.log", "--workers", "2")
    container = "%s/v1/AUTH_test/race-%s" % (srv.url, uuid.uuid4().hex[:8])
    names = ["o%d" % i for i in range(4)]
    written = {name: set() for name in names}
    problems = []
    try:
        assert requests.put(container).status_code == 201

        def client(seed):
            with requests.Session() as http:
                for step in range(30):
                    name = names[(seed + step) % len(names)]
                    url = container + "/" + name
                    action = (seed * 7 + step) % 5
                    if action <= 1:
                        body = os.urandom(70000 + seed * 100 + step)
                        written[name].add(md5(body).hexdigest())
                        if http.put(url, data=body).status_code != 201:
                            problems.append("PUT %s failed" % name)
                    elif action == 2:
                        status = http.post(url, headers={"X-Object-Meta-Step": str(step)})
                        if status.status_code not in (202, 404):
                            problems.append("POST %s: %s" % (name, status.status_code))
                    elif action == 3:
                        http.delete(url)
                    else:
                        resp = http.get(url)
                        if resp.status_code == 200:
                            digest = md5(resp.content).hexdigest()
                            if digest != resp.headers["Etag"].strip('"'):
                                problems.append("GET %s: body and etag disagree" % name)
                            if digest not in written[name]:
                                problems.append("GET %s: a body nobody wrote" % name)
                        elif resp.status_code != 404:
                            problems.append("GET %s: %s" % (name, resp.status_code))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not problems, problems[:5]
        listing = {entry["name"]: entry for entry in
                   requests.get(container, params={"format": "json"}).json()}
        for name in names:
            resp = requests.get(container + "/" + name)
            if resp.status_code == 404:
                assert name not in listing
            else:
                assert listing[name]["hash"] == md5(resp.content).hexdigest()
                assert listing[name]["bytes"] == len(resp.content)
    finally:
        assert srv.stop() == 0


def test_a_worker_crashing_at_start_up_says_why_in_one_line(tmp_path):
    conf = tmp_path / "crash.conf"
    # a factory that raises something load_app does not translate
    conf.write_text("[app:main]\npaste.app_factory = operator:truediv\n")
    status, lines = _run_refused(tmp_path, "--config", str(conf), "--workers", "2")
    assert status == 2
    line = _one_error_line(lines)
    assert "failed: TypeError" in line, line
