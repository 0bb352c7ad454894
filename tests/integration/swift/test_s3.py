"""An S3 client (boto3) through Swift's s3api with swiftcrypt below it."""


import boto3
import pytest
from botocore.config import Config

from tests.integration.swift.conftest import make_body, unique
from swiftcrypt.common import checksums

MIB = 1024 * 1024


def md5(data):
    return checksums.md5(data).hexdigest()


@pytest.fixture
def s3(swiftcrypt):
    return boto3.client(
        "s3", endpoint_url=swiftcrypt.url, region_name="us-east-1",
        aws_access_key_id="test:tester", aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


@pytest.fixture
def bucket(s3):
    name = unique("bucket")
    s3.create_bucket(Bucket=name)
    return name


def test_put_get_and_ranged_read(s3, bucket, plaintexts):
    body = plaintexts.body(make_body("s3-simple", 200000))
    value = plaintexts.meta("s3-user-metadata-value")
    resp = s3.put_object(Bucket=bucket, Key="k/\u00e9.bin", Body=body,
                         Metadata={"secret": value})
    assert resp["ETag"] == '"%s"' % md5(body)
    got = s3.get_object(Bucket=bucket, Key="k/\u00e9.bin")
    assert got["Body"].read() == body
    assert got["ETag"] == '"%s"' % md5(body)
    assert got["Metadata"] == {"secret": value}
    ranged = s3.get_object(Bucket=bucket, Key="k/\u00e9.bin", Range="bytes=65530-65545")
    assert ranged["Body"].read() == body[65530:65546]
    assert ranged["ContentRange"] == "bytes 65530-65545/%d" % len(body)
    head = s3.head_object(Bucket=bucket, Key="k/\u00e9.bin", IfMatch=md5(body))
    assert head["ContentLength"] == len(body)
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["ETag"]) for o in listing] == [("k/\u00e9.bin", '"%s"' % md5(body))]
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k/\u00e9.bin"})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body


def test_multipart_upload_and_ranged_read(s3, bucket, plaintexts):
    parts = [plaintexts.body(make_body("s3-part-%d" % i, size))
             for i, size in enumerate((5 * MIB, 5 * MIB, MIB + 123))]
    whole = b"".join(parts)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu",
                                        Metadata={"kind": plaintexts.meta("multipart-meta")})
    done = []
    for number, data in enumerate(parts, 1):
        resp = s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                              PartNumber=number, Body=data)
        assert resp["ETag"] == '"%s"' % md5(data)
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    listed = s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"])["Parts"]
    assert [p["ETag"] for p in listed] == [d["ETag"] for d in done]
    resp = s3.complete_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": done})
    s3_etag = md5(b"".join(checksums.md5(p).digest() for p in parts)) + "-3"
    assert resp["ETag"] == '"%s"' % s3_etag

    got = s3.get_object(Bucket=bucket, Key="mpu")
    assert got["Body"].read() == whole
    assert got["ETag"] == '"%s"' % s3_etag
    assert got["Metadata"] == {"kind": "multipart-meta"}
    for first, last in ((0, 99), (5 * MIB - 10, 5 * MIB + 9), (10 * MIB + 5, 10 * MIB + 200),
                        (len(whole) - 50, len(whole) - 1)):
        resp = s3.get_object(Bucket=bucket, Key="mpu", Range="bytes=%d-%d" % (first, last))
        assert resp["Body"].read() == whole[first:last + 1]
    resp = s3.get_object(Bucket=bucket, Key="mpu", PartNumber=2)
    assert resp["Body"].read() == parts[1]
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listing] == [
        ("mpu", '"%s"' % s3_etag, len(whole))]
