"""After every other functional test: no plaintext body or metadata marker
anywhere under the data dir (object data files, metadata sidecars, SQLite
files, lock files, temp dir)."""

import os

WINDOW = 1024 * 1024


def _files(root):
    for path, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(path, name)


def _contains_any(path, needles):
    longest = max(len(n) for n in needles)
    found = set()
    tail = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(WINDOW)
            if not block:
                return found
            data = tail + block
            found.update(n for n in needles if n in data)
            tail = data[-longest:]


def test_no_plaintext_under_data_dir(server, markers, http):
    # control markers the scan must find, so a broken scan cannot pass:
    # container metadata (SQLite) and a content type (stored plainly, as
    # Swift's encrypter leaves it) in an object's POST sidecar
    control = markers.new("control").encode()
    markers.items.remove(control)
    container = server.url + "/v1/AUTH_test/ctl-" + control.decode()
    assert http.put(container, headers={"X-Container-Meta-Control": control.decode()}
                    ).status_code == 201
    assert http.put(container + "/o", data=b"x").status_code == 201
    assert http.post(container + "/o", headers={
        "Content-Type": "application/x-" + control.decode()}).status_code == 202
    assert len(markers.items) >= 20, "the other functional tests registered the markers"
    files = list(_files(server.data_dir))
    assert any(p.endswith(".obj") for p in files)
    leaks, control_in = [], set()
    for path in files:
        found = _contains_any(path, markers.items + [control])
        if control in found:
            control_in.add(os.path.splitext(path)[1])
        leaks += [(path, n[:12]) for n in found if n != control]
    assert ".meta" in control_in, "the scan did not read the POST sidecars"
    assert control_in - {".meta"}, "the scan did not see plainly stored container metadata"
    assert leaks == []
