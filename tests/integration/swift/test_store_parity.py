"""`swiftcrypt serve` (the embedded store) against a real Swift cluster
with swiftcrypt's filters: the same requests - server-side copy, PUT
framing and preconditions, Content-Type parameters, multi-range rules,
container metadata limits - get the same statuses, bodies and headers.
Where the store deliberately differs (large-object manifests, refused
rather than implemented) the test says so."""

import http.client
import uuid
from urllib.parse import urlsplit

import pytest

from tests.functional.conftest import start_server

SHOWN = ("x-copied-from", "x-copied-from-account", "x-object-meta-color",
         "x-object-meta-new", "content-disposition", "etag", "content-range")
BODY = b"0123456789" * 10
SRC_HEADERS = {"X-Object-Meta-Color": "blue", "Content-Type": "text/x-src",
               "Content-Disposition": "inline"}

# (method, object or "" for the container, body, headers); the container
# is fresh per target, src is written first
CASES = [
    ("PUT", "dst", b"", {"X-Copy-From": "{c}/src"}),
    ("GET", "dst", b"", {}),
    ("PUT", "fresh", b"", {"X-Copy-From": "/{c}/src", "X-Fresh-Metadata": "true",
                           "X-Object-Meta-New": "n"}),
    ("GET", "fresh", b"", {}),
    ("PUT", "part", b"", {"X-Copy-From": "{c}/src", "Range": "bytes=5-14"}),
    ("GET", "part", b"", {}),
    ("PUT", "dst4", b"", {"X-Copy-From": "{c}/missing"}),
    ("PUT", "dst5", b"", {"X-Copy-From": "nocontainer"}),
    ("PUT", "dst6", b"", {"X-Copy-From": "{c}/src", "X-Copy-From-Account": "a/b"}),
    ("PUT", "dst7", b"", {"X-Copy-From": "{c}/src", "If-Match": "nope"}),
    ("PUT", "dst8", b"", {"X-Copy-From": "{c}/src", "If-None-Match": "*"}),
    ("PUT", "dst9", b"abc", {"X-Copy-From": "{c}/src"}),
    ("COPY", "src", b"", {}),
    ("COPY", "src", b"", {"Destination": "{c}/cp"}),
    ("GET", "cp", b"", {}),
    ("COPY", "src", b"", {"Destination": "{c}/cp2", "Content-Type": "text/x-new",
                          "X-Object-Meta-Color": "red"}),
    ("GET", "cp2", b"", {}),
    ("PUT", "inm", b"x", {"If-None-Match": "*"}),
    ("PUT", "inm", b"y", {"If-None-Match": "*"}),
    ("PUT", "inm", b"y", {"If-None-Match": '"abc"'}),
    ("GET", "inm", b"", {}),
    ("PUT", "ct", b"y", {"Content-Type": "text/plain;swift_bytes=5"}),
    ("PUT", "ct", b"y", {"Content-Type": "text/plain; charset=utf-8; swift_x=1"}),
    ("PUT", "photo.jpg", b"y", {}),
    ("HEAD", "photo.jpg", b"", {}),
    ("GET", "src", b"", {"Range": "bytes=0-1,3-4,3-4"}),
    ("GET", "src", b"", {"Range": "bytes=" + ",".join("%d-%d" % (i, i) for i in range(51))}),
    ("GET", "src", b"", {"Range": "bytes=0-50,10-60,20-70,30-80"}),
    ("GET", "src", b"", {"Range": "bytes=" + ",".join("%d-%d" % (i, i)
                                                      for i in range(8, 0, -1))}),
    ("GET", "src", b"", {"Range": "bytes=0-1,"}),
    ("HEAD", "src", b"", {"Range": "bytes=0-1"}),
    ("POST", "", b"", {"X-Container-Meta-Big": "v" * 257}),
    ("POST", "", b"", {"X-Container-Meta-%03d" % i: "v" for i in range(91)}),
    ("POST", "", b"", {"X-Container-Meta-" + "n" * 129: "v"}),
]
# where the store deliberately differs: (method, object, headers) -> statuses
DIFFERENT = [
    # a DLO manifest: Swift stores and serves it; the store refuses it
    (("PUT", "dlo", b"", {"X-Object-Manifest": "{c}/seg"}), 201, 400),
]


class Target:
    def __init__(self, url, token=None):
        parts = urlsplit(url)
        self.port, self.base, self.token = parts.port, parts.path, token
        self.container = "parity-" + uuid.uuid4().hex[:8]

    def request(self, method, obj, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {} if self.token is None else {"X-Auth-Token": self.token}
        sent.update({name: value.format(c=self.container)
                     for name, value in (headers or {}).items()})
        path = "%s/%s" % (self.base, self.container) + ("/" + obj if obj else "")
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def run(self, cases):
        assert self.request("PUT", "")[0] == 201
        assert self.request("PUT", "src", BODY, SRC_HEADERS)[0] == 201
        answers = []
        for method, obj, body, headers in cases:
            status, got, data = self.request(method, obj, body, headers)
            shown = {k: got[k].replace(self.container, "{c}") for k in SHOWN if k in got}
            # multipart bodies carry a random boundary
            multipart = "multipart/" in got.get("content-type", "")
            if status < 300:
                shown["content-type"] = got.get("content-type", "").split(";boundary=")[0]
            answers.append((method, obj, status, shown,
                            data if method == "GET" and status < 300 and not multipart
                            else None))
        return answers


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    base = tmp_path_factory.mktemp("parity")
    srv = start_server(base / "data", base / "serve.log")
    yield srv.url + "/v1/AUTH_test"
    assert srv.stop() == 0


def test_store_answers_as_the_cluster_does(swiftcrypt, store_url):
    url, token = swiftcrypt.auth("test", "tester")
    theirs = Target(url, token).run(CASES)
    mine = Target(store_url).run(CASES)
    for a, b in zip(mine, theirs):
        assert a == b


def test_where_the_store_differs(swiftcrypt, store_url):
    url, token = swiftcrypt.auth("test", "tester")
    for case, swift_status, store_status in DIFFERENT:
        assert Target(url, token).run([case])[0][2] == swift_status
        assert Target(store_url).run([case])[0][2] == store_status
