"""kms_keymaster in a pipeline, against real Barbican (with and without
Keystone): round trips, interoperation with ``keymaster``, rotation."""


import pytest

from swiftcrypt.keymasters import config_keymaster

from swiftcrypt.keymasters import kms_keymaster
from swiftcrypt.common import checksums
from tests.integration.kms.conftest import (
    PROJECT,
    assert_encrypted_at_rest,
    assert_reads,
    b64,
    call,
    keystone_conf,
    new_secret,
    noauth_conf,
    pipeline,
    put_object,
)

KMS = kms_keymaster.filter_factory
KM = config_keymaster.filter_factory


@pytest.fixture(params=["noauth", "keystone"])
def kms(request, barbican_noauth):
    """(store a secret -> key id, kms conf for key ids) for either mode."""
    if request.param == "noauth":
        def store(secret):
            return barbican_noauth.store_secret(secret, project_id=PROJECT)

        def conf(**key_ids):
            return noauth_conf(barbican_noauth, **key_ids)
    else:
        ks = request.getfixturevalue("keystone")
        barbican = request.getfixturevalue("barbican_keystone")
        session = request.getfixturevalue("swift_session")

        def store(secret):
            return barbican.store_secret(secret, session=session)

        def conf(**key_ids):
            return keystone_conf(ks, **key_ids)
    return store, conf


def test_round_trip_and_read_through_keymaster(kms, tmp_path):
    store, conf = kms
    secret = new_secret()
    key_id = store(secret)
    app = pipeline(tmp_path, KMS, conf(key_id=key_id))
    body = b"secret data held under a Barbican key" * 100
    etag = put_object(app, "/c/kms-written", body)
    assert etag == checksums.md5(body).hexdigest()
    assert_reads(app, "/c/kms-written", body)
    assert_encrypted_at_rest(tmp_path, "/c/kms-written", body)

    # The same secret configured inline reads it ...
    inline = pipeline(tmp_path, KM, {"encryption_root_secret": b64(secret)})
    assert_reads(inline, "/c/kms-written", body)
    # ... and what the inline keymaster writes reads through kms_keymaster.
    put_object(inline, "/c/inline-written", b"the other way round", meta="red")
    assert_reads(app, "/c/inline-written", b"the other way round", meta="red")

    # A different secret does not.
    other = pipeline(tmp_path, KM, {"encryption_root_secret": b64(new_secret())})
    assert call(other, "GET", "/c/kms-written").body != body


def test_root_secret_longer_than_32_bytes(kms, tmp_path):
    store, conf = kms
    secret = new_secret(64)
    app = pipeline(tmp_path, KMS, conf(key_id=store(secret)))
    put_object(app, "/c/o", b"x" * 1000)
    assert_reads(pipeline(tmp_path, KM, {"encryption_root_secret": b64(secret)}),
                 "/c/o", b"x" * 1000)


def test_rotation_across_key_ids(kms, tmp_path):
    store, conf = kms
    old, new = new_secret(), new_secret()
    ids = {"key_id_old": store(old), "key_id_new": store(new)}

    before = pipeline(tmp_path, KMS, conf(active_root_secret_id="old", **ids))
    put_object(before, "/c/old-object", b"written under old")
    after = pipeline(tmp_path, KMS, conf(active_root_secret_id="new", **ids))
    put_object(after, "/c/new-object", b"written under new")

    for app in (before, after):
        assert_reads(app, "/c/old-object", b"written under old")
        assert_reads(app, "/c/new-object", b"written under new")
        for name, body in (("old-object", b"written under old"),
                           ("new-object", b"written under new")):
            etag = checksums.md5(body).hexdigest()
            match = call(app, "GET", "/c/" + name, headers={"If-Match": '"%s"' % etag})
            assert match.status_int == 200 and match.body == body
            none = call(app, "GET", "/c/" + name, headers={"If-None-Match": '"%s"' % etag})
            assert none.status_int == 304
            miss = call(app, "GET", "/c/" + name, headers={"If-Match": '"%s"' % ("0" * 32)})
            assert miss.status_int == 412

    # The new object really is under the new secret: the old one alone
    # cannot read it, and the inline keymaster with both ids can.
    both = pipeline(tmp_path, KM, {
        "encryption_root_secret_old": b64(old), "encryption_root_secret_new": b64(new),
        "active_root_secret_id": "new"})
    assert_reads(both, "/c/old-object", b"written under old")
    assert_reads(both, "/c/new-object", b"written under new")
    only_old = pipeline(tmp_path, KM, {"encryption_root_secret_old": b64(old),
                                       "active_root_secret_id": "old"})
    assert call(only_old, "GET", "/c/new-object").status_int >= 500
    listing = call(after, "GET", "/c?format=json").json
    assert {e["name"]: e["hash"] for e in listing} == {
        "old-object": checksums.md5(b"written under old").hexdigest(),
        "new-object": checksums.md5(b"written under new").hexdigest()}
