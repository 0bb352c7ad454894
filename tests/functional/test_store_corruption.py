"""Store-level corruption: a damaged trailer, data-file header or metadata
side file answers 500 and logs one line naming the object and the fault; a
damaged listing database stops start-up with one line saying what to do."""

import os
import struct

import requests

from swiftcrypt.store import diskfile
from tests.functional import test_faults
from tests.functional.conftest import start_server
from tests.functional.test_faults import ENV, new_container, object_file

own_server = test_faults.own_server


def _damage_trailer(path):
    with open(path, "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"NOTMAGIC")


def _damage_header(path):
    with open(path, "r+b") as f:
        f.seek(-16, os.SEEK_END)
        length = struct.unpack(">Q", f.read(8))[0]
        f.seek(-16 - length, os.SEEK_END)
        f.write(b"#" * length)


def _damage_side_file(path):
    with open(diskfile.meta_path(path), "wb") as f:
        f.write(b"{not json")


def test_corrupt_object_files_answer_500_and_log_one_line_each(own_server):
    srv = own_server()
    container = new_container(srv)
    faults = {"trailer": (_damage_trailer, "bad trailer"),
              "header": (_damage_header, "header is not JSON"),
              "sidefile": (_damage_side_file, "side file is not JSON")}
    for name, (damage, _fault) in faults.items():
        url = "%s/broken-%s" % (container, name)
        assert requests.put(url, data=b"some data").status_code == 201
        assert requests.post(url, headers={"X-Object-Meta-A": "1"}).status_code == 202
        damage(object_file(srv, url))
    for name, (_damage, fault) in faults.items():
        url = "%s/broken-%s" % (container, name)
        for method in ("GET", "HEAD", "POST"):
            assert requests.request(method, url).status_code == 500, (name, method)
        lines = [line for line in srv.log_text().splitlines()
                 if "broken-" + name in line and "corrupt" in line]
        assert len(lines) == 3, lines  # one per request
        assert all(fault in line for line in lines), lines
        # deleting a damaged object is how to get rid of it
        assert requests.delete(url).status_code == 204
        assert requests.get(url).status_code == 404
    assert "Traceback" not in srv.log_text()


def test_damaged_listing_database_stops_start_up_with_one_line_and_can_be_rebuilt(tmp_path):
    data = tmp_path / "data"
    srv = start_server(data, tmp_path / "first.log", env=ENV)
    assert requests.put(srv.url + "/v1/AUTH_x/c").status_code == 201
    assert requests.put(srv.url + "/v1/AUTH_x/c/kept", data=b"kept data",
                        headers={"Content-Type": "k/t"}).status_code == 201
    listed = requests.get(srv.url + "/v1/AUTH_x/c", params={"format": "json"}).json()
    assert srv.stop() == 0
    db = data / "listing.db"
    for extra in ("-wal", "-shm"):
        if os.path.exists(str(db) + extra):
            os.unlink(str(db) + extra)
    with open(db, "r+b") as f:
        f.write(b"this is no SQLite database header" * 4)
    log = tmp_path / "second.log"
    proc = start_server(data, log, env=ENV, wait=False)
    try:
        status = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert status == 2
    assert "Traceback" not in text and "serving" not in text
    errors = [line for line in text.splitlines() if line.startswith("swiftcrypt: error:")]
    assert len(errors) == 1, text
    assert str(db) in errors[0] and "damaged" in errors[0] and "backup" in errors[0]
    # doing what it says: moved aside, the objects are listed anew from their files
    os.rename(db, str(db) + ".damaged")
    srv = start_server(data, tmp_path / "third.log", env=ENV)
    try:
        assert requests.get(srv.url + "/v1/AUTH_x/c", params={"format": "json"}).json() \
            == listed
        assert requests.get(srv.url + "/v1/AUTH_x/c/kept").content == b"kept data"
        head = requests.head(srv.url + "/v1/AUTH_x")
        assert head.headers["X-Account-Object-Count"] == "1"
        assert "listed the 1 object(s)" in srv.log_text()
    finally:
        srv.stop()
