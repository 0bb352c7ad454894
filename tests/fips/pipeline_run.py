"""Run in a FIPS-guarded interpreter by test_fips.py: import every
swiftcrypt module, then drive swiftcrypt's keymaster and encryption filters
(loaded by their egg entry points, as a proxy loads them) over the real
embedded store: PUT, GET, HEAD, ranges, conditionals, POST, listings,
account and container metadata, verify_body. Prints "ok" when every check
passed; any MD5 the guard refuses ends it with the guard's ValueError.

    python pipeline_run.py DATA_DIR
"""

import base64
import hashlib
import importlib
import json
import os
import pkgutil
import sys

from paste.deploy import loadapp
from webob import Request

import swiftcrypt

CONF = """\
[pipeline:main]
pipeline = keymaster encryption store

[filter:keymaster]
use = egg:swiftcrypt#keymaster
encryption_root_secret = %(secret)s

[filter:encryption]
use = egg:swiftcrypt#encryption
verify_body = true
encrypt_container_metadata = true
encrypt_account_metadata = true

[app:store]
use = egg:swiftcrypt#store
data_dir = %(data_dir)s
"""


def etag_of(data):
    # The test's own reference etag, computed as the code under test must.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def call(app, method, path, body=None, **headers):
    req = Request.blank(path, method=method,
                        headers={k.replace("_", "-"): v for k, v in headers.items()})
    if body is not None:
        req.body = body
    return req.get_response(app)


def expect(resp, status):
    assert resp.status_int == status, (resp.status, resp.body[:300])
    return resp


def import_everything():
    """Every swiftcrypt module imports (MD5 at import time is refused too)."""
    for module in pkgutil.walk_packages(swiftcrypt.__path__, "swiftcrypt."):
        importlib.import_module(module.name)


def main(data_dir):
    import_everything()
    conf_path = os.path.join(data_dir, "pipeline.conf")
    with open(conf_path, "w") as f:
        f.write(CONF % {"secret": base64.b64encode(os.urandom(32)).decode(),
                        "data_dir": data_dir})
    app = loadapp("config:" + conf_path)
    body = os.urandom(200000)
    expect(call(app, "PUT", "/v1/AUTH_a/c", X_Container_Meta_Owner="ops"), 201)
    put = expect(call(app, "PUT", "/v1/AUTH_a/c/o", body, X_Object_Meta_Color="blue",
                      Etag=etag_of(body)), 201)
    assert put.headers["Etag"].strip('"') == etag_of(body)
    got = expect(call(app, "GET", "/v1/AUTH_a/c/o"), 200)
    assert got.body == body and got.headers["X-Object-Meta-Color"] == "blue"
    assert got.headers["Etag"].strip('"') == etag_of(body)
    head = expect(call(app, "HEAD", "/v1/AUTH_a/c/o"), 200)
    assert head.headers["Etag"].strip('"') == etag_of(body)
    ranged = expect(call(app, "GET", "/v1/AUTH_a/c/o", Range="bytes=1000-70999"), 206)
    assert ranged.body == body[1000:71000]
    multi = expect(call(app, "GET", "/v1/AUTH_a/c/o", Range="bytes=0-9,-10"), 206)
    assert body[:10] in multi.body and body[-10:] in multi.body
    expect(call(app, "GET", "/v1/AUTH_a/c/o", If_Match=etag_of(body)), 200)
    expect(call(app, "GET", "/v1/AUTH_a/c/o", If_None_Match=etag_of(body)), 304)
    expect(call(app, "GET", "/v1/AUTH_a/c/o", If_Match=etag_of(b"other")), 412)
    expect(call(app, "PUT", "/v1/AUTH_a/c/o2", b"x", Etag=etag_of(b"y")), 422)
    expect(call(app, "PUT", "/v1/AUTH_a/c/empty", b""), 201)
    expect(call(app, "POST", "/v1/AUTH_a/c/o", X_Object_Meta_Color="red"), 202)
    assert expect(call(app, "HEAD", "/v1/AUTH_a/c/o"), 200).headers[
        "X-Object-Meta-Color"] == "red"
    listing = expect(call(app, "GET", "/v1/AUTH_a/c?format=json"), 200)
    hashes = {e["name"]: e["hash"] for e in json.loads(listing.body)}
    assert hashes == {"o": etag_of(body), "empty": etag_of(b"")}, hashes
    expect(call(app, "POST", "/v1/AUTH_a/c", X_Container_Meta_Team="blue"), 204)
    container = expect(call(app, "HEAD", "/v1/AUTH_a/c"), 204)
    assert container.headers["X-Container-Meta-Team"] == "blue"
    assert container.headers["X-Container-Meta-Owner"] == "ops"
    expect(call(app, "POST", "/v1/AUTH_a", X_Account_Meta_Cost="7"), 204)
    account = call(app, "HEAD", "/v1/AUTH_a")
    assert account.status_int in (200, 204), account.status
    assert account.headers["X-Account-Meta-Cost"] == "7"
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
