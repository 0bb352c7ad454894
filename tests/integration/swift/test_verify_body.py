"""verify_body in a real Swift proxy, replicated policy: with it, a body
of one chunk whose ciphertext was flipped on disk is refused with a 500
before anything is sent, and a longer one is cut short after its 200
(Swift's proxy sends 64 KiB chunks); each is logged. (test_ec.py shows the
flip served whole without verify_body. Here the object server would
quarantine the replica once it has read it whole - it checks the
ciphertext's MD5 - but only after sending it, so each object is read in
full once.)"""

import pytest
import requests

from tests.integration.swift import at_rest
from tests.integration.swift.conftest import Http, connect, make_body, swiftcrypt_crypto, unique

SMALL = 1000  # one chunk
LARGE = 300 * 1024  # five chunks


def flip_everywhere(cluster, name, offset):
    """Flip the lowest bit of body byte ``offset`` in every replica."""
    replicas = [s for s in at_rest.stored_objects(cluster) if s.name == name]
    assert len(replicas) >= 1, name
    for stored in replicas:
        with open(stored.path, "r+b") as fh:  # a .data file is the body, then xattrs
            fh.seek(offset)
            byte = fh.read(1)[0]
            fh.seek(offset)
            fh.write(bytes([byte ^ 1]))
    return len(replicas)


def test_verify_body_refuses_or_cuts_a_tampered_replicated_object(cluster, plaintexts):
    cluster.use(swiftcrypt_crypto())
    conn = connect(cluster)
    cont = unique("tamper")
    conn.put_container(cont)
    bodies = {name: plaintexts.body(make_body("verify-" + name, size))
              for name, size in (("small", SMALL), ("large", LARGE))}
    for name, body in bodies.items():
        conn.put_object(cont, name, body)
        flip_everywhere(cluster, "/AUTH_test/%s/%s" % (cont, name), 100)

    cluster.use(swiftcrypt_crypto(encryption_options={"verify_body": "true"}))
    http = Http(cluster)
    # a ranged read is not verified (nor read whole): the flip comes back
    resp = http.request("GET", cont, "large", headers={"Range": "bytes=90-109"})
    assert resp.status_code == 206 and resp.content[10] == bodies["large"][100] ^ 1
    resp = http.request("GET", cont, "small")
    assert resp.status_code == 500 and resp.content == b"The stored object is corrupt"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.request("GET", cont, "large")
    log = cluster.log_tail("proxy", lines=200)
    assert "object /v1/AUTH_test/%s/small is corrupt" % cont in log
    assert "answered 500" in log
    assert "object /v1/AUTH_test/%s/large is corrupt" % cont in log
    assert "response cut short" in log
