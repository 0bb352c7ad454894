"""The store's data dir on a real tiny filesystem (tmpfs) filled to exactly
zero bytes free: every write answers 507, changes nothing half-way, leaves
no temp file and logs one line; once there is room again, writes work."""

import os

import requests

from tests.functional import test_faults
from tests.functional.conftest import temp_files
from tests.functional.test_faults import ACCOUNT, body_of
from tests.functional.test_store_crashes import check_consistent

own_server = test_faults.own_server
small_disk = test_faults.small_disk


def fill(path):
    """Write ``path`` until the filesystem has not one byte left."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    stat = os.statvfs(os.path.dirname(path))
    assert stat.f_bavail == 0


def test_every_write_on_a_full_disk_is_507_logged_once_and_changes_nothing(own_server,
                                                                           small_disk):
    srv = own_server(data_dir=small_disk / "data")
    container = "full"
    base = "%s/v1/%s/%s" % (srv.url, ACCOUNT, container)
    assert requests.put(base, headers={"X-Container-Meta-Color": "blue"}).status_code == 201
    bodies = {}
    for name in ("keep", "victim", "posted"):
        bodies[name] = body_of(3000, name)
        assert requests.put(base + "/" + name, data=bodies[name],
                            headers={"Content-Type": "old/" + name}).status_code == 201
    names = list(bodies) + ["new"]
    check_consistent(srv, [container], names)
    fill(str(small_disk / "filler"))
    refused = [
        requests.put(base + "/new", data=b"tiny"),
        requests.put(base + "/keep", data=b"a replacement"),
        requests.post(base + "/posted", headers={"Content-Type": "new/type",
                                                 "X-Object-Meta-A": "1"}),
        requests.delete(base + "/victim"),
        requests.put("%s/v1/%s/another" % (srv.url, ACCOUNT)),
        requests.post(base, headers={"X-Container-Meta-Color": "red"}),
        requests.post("%s/v1/%s" % (srv.url, ACCOUNT), headers={"X-Account-Meta-A": "1"}),
    ]
    assert [r.status_code for r in refused] == [507] * len(refused), \
        [(r.request.method, r.request.url, r.status_code) for r in refused]
    assert os.statvfs(str(small_disk)).f_bavail == 0  # still full: nothing was written
    log = srv.log_text()
    assert log.count("no space left") == len(refused), log
    assert "Traceback" not in log
    assert temp_files(srv.data_dir) == []
    # nothing changed half-way
    check_consistent(srv, [container], names)
    for name, body in bodies.items():
        resp = requests.get(base + "/" + name)
        assert resp.status_code == 200 and resp.content == body
        assert resp.headers["Content-Type"] == "old/" + name
    assert requests.head(base).headers["X-Container-Meta-Color"] == "blue"
    assert requests.head("%s/v1/%s/another" % (srv.url, ACCOUNT)).status_code == 404
    # once there is room again, writes work
    os.unlink(str(small_disk / "filler"))
    assert requests.put(base + "/new", data=b"tiny").status_code == 201
    assert requests.delete(base + "/victim").status_code == 204
    assert requests.post(base + "/posted", headers={"Content-Type": "new/type"}).status_code \
        == 202
    check_consistent(srv, [container], names)
