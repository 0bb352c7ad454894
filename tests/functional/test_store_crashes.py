"""The store killed (SIGKILL) in the middle of PUT, POST and DELETE: after a
restart every listed object reads with the listed etag, size and type,
every readable object is listed, the counts agree, and no temp file is
left. Random kills under load, and a kill at each named crash point of
swiftcrypt.store.crashpoints (random kills rarely land in those windows)."""

import random
import signal
import threading
import time
import uuid

import requests

from swiftcrypt.store import crashpoints
from tests.functional import test_faults
from tests.functional.conftest import temp_files
from tests.functional.test_faults import ACCOUNT, body_of
from swiftcrypt.common.checksums import md5

own_server = test_faults.own_server

NAMES = ["o%d" % i for i in range(6)]
RANDOM_KILLS = 12


def check_consistent(srv, containers, names=NAMES):
    """Every listed object reads as listed, every readable one is listed,
    container and account counts match the listings."""
    total_count = total_bytes = 0
    with requests.Session() as http:
        for container in containers:
            url = "%s/v1/%s/%s" % (srv.url, ACCOUNT, container)
            listed = {e["name"]: e for e in http.get(url, params={"format": "json"}).json()}
            head = http.head(url)
            assert int(head.headers["X-Container-Object-Count"]) == len(listed)
            used = sum(e["bytes"] for e in listed.values())
            assert int(head.headers["X-Container-Bytes-Used"]) == used
            total_count += len(listed)
            total_bytes += used
            for name in names:
                resp = http.get(url + "/" + name)
                if name not in listed:
                    assert resp.status_code == 404, (container, name, "readable, not listed")
                    continue
                entry = listed[name]
                assert resp.status_code == 200, (container, name, "listed, not readable")
                assert resp.headers["Etag"] == entry["hash"], (container, name)
                assert len(resp.content) == entry["bytes"], (container, name)
                assert md5(resp.content).hexdigest() == entry["hash"]
                assert resp.headers["Content-Type"] == entry["content_type"], (container, name)
        head = http.head("%s/v1/%s" % (srv.url, ACCOUNT))
        assert int(head.headers["X-Account-Object-Count"]) == total_count
        assert int(head.headers["X-Account-Bytes-Used"]) == total_bytes


def hammer(base, stop, seed):
    """PUT, POST and DELETE at random on NAMES until ``stop`` is set or the
    server goes away."""
    rng = random.Random(seed)
    with requests.Session() as http:
        while not stop.is_set():
            url = "%s/%s" % (base, rng.choice(NAMES))
            op = rng.random()
            try:
                if op < 0.5:
                    body = body_of(rng.choice([0, 10, 5000, 70000, 300000]), uuid.uuid4().hex)
                    http.put(url, data=body, headers={"Content-Type": "t/%d" % len(body)},
                             timeout=30)
                elif op < 0.8:
                    http.post(url, headers={"Content-Type": "p/%d" % rng.randrange(1000),
                                            "X-Object-Meta-M": "x"}, timeout=30)
                else:
                    http.delete(url, timeout=30)
            except requests.RequestException:
                return  # killed


def test_random_kills_under_load_leave_a_consistent_store(own_server, tmp_path):
    rng = random.Random(17)
    srv = own_server()
    container = "crash-%s" % uuid.uuid4().hex[:6]
    assert requests.put("%s/v1/%s/%s" % (srv.url, ACCOUNT, container)).status_code == 201
    for kill in range(RANDOM_KILLS):
        base = "%s/v1/%s/%s" % (srv.url, ACCOUNT, container)
        stop = threading.Event()
        workers = [threading.Thread(target=hammer, args=(base, stop, kill * 10 + i))
                   for i in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(rng.uniform(0.2, 1.0))
        srv.stop(signal.SIGKILL)
        stop.set()
        for worker in workers:
            worker.join(60)
        srv = own_server(data_dir=srv.data_dir, log_name="server%d.log" % kill)
        assert temp_files(srv.data_dir) == []
        check_consistent(srv, [container])
    assert "Traceback" not in srv.log_text()


def test_kill_at_each_crash_point_leaves_a_consistent_store(own_server):
    srv = own_server()
    container = "points-%s" % uuid.uuid4().hex[:6]
    base = "%s/v1/%s/%s" % (srv.url, ACCOUNT, container)
    assert requests.put(base).status_code == 201
    names = []
    for point in crashpoints.POINTS:  # one object per point, with old data
        names.append(point)
        assert requests.put("%s/%s" % (base, point), data=body_of(4000, "old" + point),
                            headers={"Content-Type": "old/type"}).status_code == 201
    check_consistent(srv, [container], names)
    log_index = 0
    for point in crashpoints.POINTS:
        srv.stop()
        log_index += 1
        srv = own_server(data_dir=srv.data_dir, log_name="point%d.log" % log_index,
                         env={crashpoints.ENV: point})
        path = "/v1/%s/%s/%s" % (ACCOUNT, container, point)
        url = srv.url + path
        op = point.split("-")[0]
        try:
            if op == "put":
                requests.put(url, data=body_of(9000, "new" + point),
                             headers={"Content-Type": "new/type"}, timeout=30)
            elif op == "post":
                requests.post(url, headers={"Content-Type": "posted/type"}, timeout=30)
            else:
                requests.delete(url, timeout=30)
        except requests.ConnectionError:
            pass
        assert srv.proc.wait(30) == 137, "the store did not stop at " + point
        log_index += 1
        srv = own_server(data_dir=srv.data_dir, log_name="point%d.log" % log_index)
        assert temp_files(srv.data_dir) == []
        check_consistent(srv, [container], names)
        resp = requests.get(srv.url + path)
        if point.endswith("-listed"):  # the files had not changed: the old object
            if op == "delete":
                assert resp.status_code == 200
            assert resp.headers["Content-Type"] == "old/type"
        else:  # the files had changed: the new one
            assert resp.status_code == (404 if op == "delete" else 200)
            if op != "delete":
                wanted = {"put": "new/type", "post": "posted/type"}[op]
                assert resp.headers["Content-Type"] == wanted
        assert "settled 1 object change" in srv.log_text()


def test_a_replacement_worker_settles_what_a_killed_worker_left(own_server):
    # serve --workers: a worker dies at a crash point (its listing row says
    # deleted, its file is still there); the worker started in its place
    # settles that on its own start-up, while the other one keeps serving
    srv = own_server("--workers", "2", env={crashpoints.ENV: "delete-listed"})
    container = "workers-%s" % uuid.uuid4().hex[:6]
    base = "%s/v1/%s/%s" % (srv.url, ACCOUNT, container)
    assert requests.put(base).status_code == 201
    body = body_of(5000, "kept")
    assert requests.put(base + "/kept", data=body).status_code == 201
    try:
        requests.delete(base + "/kept", timeout=30)
    except requests.ConnectionError:
        pass
    deadline = time.monotonic() + 60
    while "settled 1 object change" not in srv.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "exited (status 137); starting another" in srv.log_text(), srv.log_text()
    assert "settled 1 object change" in srv.log_text()
    assert srv.proc.poll() is None  # the server itself never stopped
    check_consistent(srv, [container], ["kept"])
    assert requests.get(base + "/kept").content == body
