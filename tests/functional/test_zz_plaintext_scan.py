"""After every other functional test: no plaintext body or metadata marker
anywhere under the data dir (object files, SQLite files, temp dir)."""

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
    # a control marker the scan must find, so a broken scan cannot pass
    control = markers.new("control").encode()
    markers.items.remove(control)
    assert http.put(server.url + "/v1/AUTH_test/ctl-" + control.decode(),
                    headers={"X-Container-Meta-Control": control.decode()}).status_code == 201
    assert len(markers.items) >= 20, "the other functional tests registered the markers"
    files = list(_files(server.data_dir))
    assert any(p.endswith(".obj") for p in files)
    leaks, control_found = [], False
    for path in files:
        found = _contains_any(path, markers.items + [control])
        control_found = control_found or control in found
        leaks += [(path, n[:12]) for n in found if n != control]
    assert control_found, "the scan did not see plainly stored container metadata"
    assert leaks == []
