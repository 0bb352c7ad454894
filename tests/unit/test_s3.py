"""What the encryption filter does for S3 clients behind s3api: the
swift_info s3api reads, and the SSE-C refusal (doc/s3.md; the real s3api
and boto3 are in tests/integration/swift/test_s3_sse.py)."""

import sys

import pytest

from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.middleware.s3 import SSE_C_HEADERS
from tests.support.memstore import MemStore
from tests.support.pipelines import call, encrypting_pipeline

SECRET = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
SSE_C = {"X-Amz-Server-Side-Encryption-Customer-Algorithm": "AES256",
         "X-Amz-Server-Side-Encryption-Customer-Key": "a2V5" * 11,
         "X-Amz-Server-Side-Encryption-Customer-Key-Md5": "bWQ1"}
COPY_SOURCE_SSE_C = {"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm": "AES256"}


@pytest.fixture
def swift_info(monkeypatch):
    """Swift's swift_info registry, emptied for the test and put back."""
    from swift.common.utils import get_swift_info

    registry = sys.modules[get_swift_info.__module__]
    monkeypatch.setattr(registry, "_swift_info", {})
    monkeypatch.setattr(registry, "_swift_admin_info", {})
    return lambda: get_swift_info(admin=True)


@pytest.mark.parametrize("conf,enabled", [
    ({}, True), ({"disable_encryption": "false"}, True), ({"disable_encryption": "yes"}, False)])
def test_registers_encryption_as_swifts_filter_does(swift_info, conf, enabled):
    encryption_factory({}, **conf)
    info = swift_info()
    assert info["admin"]["encryption"] == {"enabled": enabled}
    assert "encryption" not in info  # admin only, as Swift's


@pytest.fixture
def store():
    return MemStore()


@pytest.fixture
def app(store):
    return encrypting_pipeline(store, {"encryption_root_secret": SECRET})


@pytest.mark.parametrize("headers", [
    SSE_C, COPY_SOURCE_SSE_C, dict(SSE_C, **{"X-Amz-Server-Side-Encryption": "AES256"})] + [
    {name: "x"} for name in SSE_C_HEADERS])  # each alone
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_sse_c_writes_are_refused_and_nothing_reaches_the_backend(store, app, headers, method):
    resp = call(app, "/v1/a/c/o", method, b"secret data", headers)
    assert resp.status_int == 400
    assert resp.text.startswith(
        "Server-side encryption with customer-provided keys (SSE-C) is not supported (x-amz-")
    assert "Nothing was stored." in resp.text
    assert store.requests == [] and store.objects == {}
    named = resp.text.split("(")[2].split(")")[0]
    assert named in SSE_C_HEADERS and named in {name.lower() for name in headers}


def test_sse_c_is_refused_with_encryption_disabled_too(store):
    app = encrypting_pipeline(store, {"encryption_root_secret": SECRET},
                              disable_encryption="true")
    assert call(app, "/v1/a/c/o", "PUT", b"data", SSE_C).status_int == 400
    assert store.objects == {}


def test_reads_and_other_requests_with_sse_c_headers_pass(store, app):
    assert call(app, "/v1/a/c/o", "PUT", b"data").status_int == 201
    resp = call(app, "/v1/a/c/o", "GET", headers=SSE_C)
    assert (resp.status_int, resp.body) == (200, b"data")
    assert call(app, "/v1/a/c/o", "HEAD", headers=SSE_C).status_int == 200
    assert call(app, "/v1/a/c", "PUT", headers=SSE_C).status_int == 204  # a container
    assert call(app, "/v1/a/c/o", "PUT", b"d", {"X-Amz-Server-Side-Encryption": "AES256"}
                ).status_int == 201  # SSE-S3 is what the filter does anyway
