"""S3 clients asking for server-side encryption, through Swift's s3api on
the real cluster: swiftcrypt against Swift's own encryption in the same
test (doc/s3.md).

SSE-S3 (ServerSideEncryption='AES256'): every answer - PUT, GET, HEAD,
copy, multipart upload, and 'aws:kms' - is the one Swift's encryption
gives. SSE-C: Swift stores the object under the cluster's keys and says
nothing; swiftcrypt refuses every write that carries the headers, with an
S3 error, and stores nothing.
"""

import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from swiftcrypt.common import checksums
from tests.integration.swift.conftest import (
    connect, make_body, swift_crypto, swiftcrypt_crypto, unique)

MIB = 1024 * 1024
PIPELINES = {"swift": swift_crypto, "swiftcrypt": swiftcrypt_crypto}
SSE = {"ServerSideEncryption": "AES256"}
CUSTOMER_KEY = os.urandom(32)
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
COPY_SOURCE_SSE_C = {"CopySourceSSECustomerAlgorithm": "AES256",
                     "CopySourceSSECustomerKey": CUSTOMER_KEY}


def s3_client(cluster):
    return boto3.client(
        "s3", endpoint_url=cluster.url, region_name="us-east-1",
        aws_access_key_id="test:tester", aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def outcome(call, **kw):
    """What an S3 call answered: status, SSE header, ETag (body checked by
    the caller), or the S3 error's status and code."""
    try:
        resp = call(**kw)
    except ClientError as err:
        return {"status": err.response["ResponseMetadata"]["HTTPStatusCode"],
                "code": err.response["Error"]["Code"]}
    out = {"status": resp["ResponseMetadata"]["HTTPStatusCode"],
           "sse": resp.get("ServerSideEncryption")}
    etag = resp.get("ETag") or resp.get("CopyObjectResult", {}).get("ETag")
    if etag:
        out["etag"] = etag
    if "Body" in resp:
        out["md5"] = checksums.md5(resp["Body"].read()).hexdigest()
    return out


def sse_s3_run(s3, plaintexts):
    """Every SSE-S3 operation once, in a new bucket; their outcomes."""
    bucket = unique("sse")
    s3.create_bucket(Bucket=bucket)
    body = plaintexts.body(make_body("sse-s3", 70000))
    got = {
        "put": outcome(s3.put_object, Bucket=bucket, Key="o", Body=body, **SSE),
        "get": outcome(s3.get_object, Bucket=bucket, Key="o"),
        "ranged get": outcome(s3.get_object, Bucket=bucket, Key="o", Range="bytes=10-99"),
        "head": outcome(s3.head_object, Bucket=bucket, Key="o"),
        "put, no header": outcome(s3.put_object, Bucket=bucket, Key="plain", Body=body),
        "head, no header": outcome(s3.head_object, Bucket=bucket, Key="plain"),
        "copy": outcome(s3.copy_object, Bucket=bucket, Key="copy",
                        CopySource={"Bucket": bucket, "Key": "o"}, **SSE),
        "get copy": outcome(s3.get_object, Bucket=bucket, Key="copy"),
        "head copy": outcome(s3.head_object, Bucket=bucket, Key="copy"),
        "put aws:kms": outcome(s3.put_object, Bucket=bucket, Key="kms", Body=body,
                               ServerSideEncryption="aws:kms"),
        "head aws:kms": outcome(s3.head_object, Bucket=bucket, Key="kms"),
    }
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu", **SSE)
    got["create mpu"] = {"sse": upload.get("ServerSideEncryption")}
    parts = [plaintexts.body(make_body("sse-part-%d" % i, size))
             for i, size in enumerate((5 * MIB, 1000))]
    done = []
    for number, data in enumerate(parts, 1):
        resp = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                              PartNumber=number, Body=data)
        got["part %d" % number] = {"sse": resp.get("ServerSideEncryption"), "etag": resp["ETag"]}
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    got["complete mpu"] = outcome(
        s3.complete_multipart_upload, Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": done})
    got["get mpu"] = outcome(s3.get_object, Bucket=bucket, Key="mpu")
    got["head mpu"] = outcome(s3.head_object, Bucket=bucket, Key="mpu")
    got["get mpu part 2"] = outcome(s3.get_object, Bucket=bucket, Key="mpu", PartNumber=2)
    return got


def test_sse_s3_answers_as_with_swifts_encryption(cluster, plaintexts):
    runs = {}
    for name, crypto in PIPELINES.items():
        runs[name] = sse_s3_run(s3_client(cluster.use(crypto())), plaintexts)
    assert runs["swiftcrypt"] == runs["swift"]
    got = runs["swiftcrypt"]
    # and what they agree on is encryption, not errors
    for op in ("get", "ranged get", "head", "head, no header", "get copy", "head copy",
               "get mpu", "head mpu", "get mpu part 2"):
        assert got[op]["sse"] == "AES256", op
    for op in ("put", "copy", "complete mpu"):
        assert got[op]["status"] == 200, op
    assert got["get"]["md5"] == checksums.md5(make_body("sse-s3", 70000)).hexdigest()
    assert got["ranged get"]["md5"] == checksums.md5(make_body("sse-s3", 70000)[10:100]).hexdigest()
    assert got["get mpu part 2"]["md5"] == checksums.md5(make_body("sse-part-1", 1000)).hexdigest()
    # s3api takes only AES256, as the cluster's own keys
    assert got["put aws:kms"] == {"status": 501, "code": "NotImplemented"}
    assert got["head aws:kms"] == {"status": 404, "code": "404"}


def test_sse_s3_is_refused_as_with_swift_when_encryption_is_disabled(cluster, plaintexts):
    runs = {}
    for name, crypto in PIPELINES.items():
        s3 = s3_client(cluster.use(crypto(encryption_options={"disable_encryption": "true"})))
        bucket = unique("sse-off")
        s3.create_bucket(Bucket=bucket)
        runs[name] = outcome(s3.put_object, Bucket=bucket, Key="o", Body=b"x" * 100, **SSE)
    assert runs["swiftcrypt"] == runs["swift"] == {"status": 501, "code": "NotImplemented"}


def _refused(call, message=True, **kw):
    """``call(**kw)`` answers 400 InvalidRequest, with our message when
    ``message`` (s3api drops it on one path: see the completion below)."""
    with pytest.raises(ClientError) as caught:
        call(**kw)
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, error
    assert error["Code"] == "InvalidRequest", error
    if message:
        assert "customer-provided keys (SSE-C) is not supported" in error["Message"], error
        assert "Nothing was stored" in error["Message"]
    return error["Message"]


def test_sse_c_is_refused_and_nothing_stored(cluster, plaintexts):
    s3 = s3_client(cluster.use(swiftcrypt_crypto()))
    bucket = unique("ssec")
    s3.create_bucket(Bucket=bucket)
    body = plaintexts.body(make_body("sse-c", 3000))
    s3.put_object(Bucket=bucket, Key="plain", Body=body)

    message = _refused(s3.put_object, Bucket=bucket, Key="o", Body=body, **SSE_C)
    assert "(x-amz-server-side-encryption-customer-" in message
    _refused(s3.put_object, Bucket=bucket, Key="o", Body=body, **SSE_C, **SSE)
    _refused(s3.copy_object, Bucket=bucket, Key="copy",
             CopySource={"Bucket": bucket, "Key": "plain"}, **SSE_C)
    message = _refused(s3.copy_object, Bucket=bucket, Key="copy2",
                       CopySource={"Bucket": bucket, "Key": "plain"}, **COPY_SOURCE_SSE_C)
    assert "(x-amz-copy-source-server-side-encryption-customer-" in message
    _refused(s3.create_multipart_upload, Bucket=bucket, Key="mpu", **SSE_C)
    # parts of an upload begun without: the part and a part copy
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu2")["UploadId"]
    _refused(s3.upload_part, Bucket=bucket, Key="mpu2", UploadId=upload, PartNumber=1,
             Body=body, **SSE_C)
    _refused(s3.upload_part_copy, Bucket=bucket, Key="mpu2", UploadId=upload, PartNumber=1,
             CopySource={"Bucket": bucket, "Key": "plain"}, **COPY_SOURCE_SSE_C)
    assert "Parts" not in s3.list_parts(Bucket=bucket, Key="mpu2", UploadId=upload)
    # and its completion, parts uploaded without: refused too, but s3api
    # reads only SLO's per-segment errors and says just "Invalid Request."
    part = s3.upload_part(Bucket=bucket, Key="mpu2", UploadId=upload, PartNumber=1, Body=body)
    assert _refused(s3.complete_multipart_upload, message=False, Bucket=bucket, Key="mpu2",
                    UploadId=upload, **SSE_C,
                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
                    ) == "Invalid Request."
    s3.abort_multipart_upload(Bucket=bucket, Key="mpu2", UploadId=upload)

    # nothing stored: not in the bucket, not among the upload segments
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["plain"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    for key in ("o", "copy", "copy2", "mpu"):
        assert outcome(s3.head_object, Bucket=bucket, Key=key)["status"] == 404, key
    segments = [name for name in _containers(cluster) if name.startswith(bucket + "+")]
    assert segments == [bucket + "+segments"]
    assert _objects(cluster, segments[0]) == []


def test_swift_stores_sse_c_writes_under_its_own_keys(cluster, plaintexts):
    """The control: what swiftcrypt refuses, Swift's encryption accepts,
    ignoring the client's key - and reads serve the object with or
    without it (as swiftcrypt serves what Swift stored so)."""
    s3 = s3_client(cluster.use(swift_crypto()))
    bucket = unique("ssec-swift")
    s3.create_bucket(Bucket=bucket)
    body = plaintexts.body(make_body("sse-c-swift", 3000))
    assert outcome(s3.put_object, Bucket=bucket, Key="o", Body=body, **SSE_C)["status"] == 200
    md5 = checksums.md5(body).hexdigest()
    for crypto in PIPELINES.values():
        s3 = s3_client(cluster.use(crypto()))
        assert outcome(s3.get_object, Bucket=bucket, Key="o")["md5"] == md5
        assert outcome(s3.get_object, Bucket=bucket, Key="o", **SSE_C)["md5"] == md5


def _containers(cluster):
    conn = connect(cluster)
    try:
        return [c["name"] for c in conn.get_account(full_listing=True)[1]]
    finally:
        conn.close()


def _objects(cluster, container):
    conn = connect(cluster)
    try:
        return [o["name"] for o in conn.get_container(container, full_listing=True)[1]]
    finally:
        conn.close()
