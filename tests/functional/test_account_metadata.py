"""Encrypted account metadata through `swiftcrypt serve` with
``encrypt_account_metadata = true`` (the ``meta_server`` fixture): values
round-trip on account HEAD and on listings in every format, removals
remove, the limits hold on the plaintext, and no plaintext value is
anywhere under that server's data dir while a value kept plain is (the
scan's control)."""

import uuid

from tests.functional.conftest import found_in_files


def _marker(label):
    return "%s-%s" % (label, uuid.uuid4().hex)


def _account_url(server):
    return "%s/v1/AUTH_am%s" % (server.url, uuid.uuid4().hex[:12])


def test_account_metadata_round_trips_and_is_encrypted_at_rest(meta_server, http):
    url = _account_url(meta_server)
    color, owner, gone = _marker("acolor"), _marker("aowner"), _marker("agone")
    unicode_value = "Zoë-" + uuid.uuid4().hex
    temp_url_key = _marker("atempurlkey")  # stays plain: the control for the scan
    assert http.put(url + "/c").status_code == 201  # the account exists, with a container
    assert http.post(url, headers={"X-Account-Meta-Color": color,
                                   "X-Account-Meta-Gone": gone,
                                   "X-Account-Meta-Temp-Url-Key": temp_url_key}
                     ).status_code == 204
    assert http.post(url, headers={"X-Account-Meta-Owner": owner,
                                   "X-Account-Meta-Name": unicode_value.encode("utf-8"),
                                   "X-Remove-Account-Meta-Gone": "x"}).status_code == 204
    for query in ("", "?format=json", "?format=xml", "?format=plain"):
        for resp in (http.head(url + query), http.get(url + query)):
            assert resp.status_code in (200, 204), (query, resp.status_code)
            assert resp.headers["X-Account-Meta-Color"] == color
            assert resp.headers["X-Account-Meta-Owner"] == owner
            assert resp.headers["X-Account-Meta-Name"].encode("latin-1").decode("utf-8") \
                == unicode_value
            assert resp.headers["X-Account-Meta-Temp-Url-Key"] == temp_url_key
            assert "X-Account-Meta-Gone" not in resp.headers
            assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    assert [c["name"] for c in http.get(url + "?format=json").json()] == ["c"]
    # an empty value removes too
    assert http.post(url, headers={"X-Account-Meta-Owner": ""}).status_code == 204
    assert "X-Account-Meta-Owner" not in http.head(url).headers

    found = found_in_files(meta_server.data_dir,
                           [color, owner, gone, unicode_value, temp_url_key])
    assert temp_url_key in found, "the scan did not see plainly stored account metadata"
    del found[temp_url_key]
    assert found == {}


def test_clients_cannot_forge_or_read_the_encrypted_copies(meta_server, http):
    url = _account_url(meta_server)
    assert http.post(url, headers={"X-Account-Meta-Color": "real"}).status_code == 204
    forged = http.post(url, headers={"X-Account-Sysmeta-Crypto-Meta-Color": "forged"})
    assert forged.status_code == 204  # the gatekeeper drops the header
    resp = http.head(url)
    assert resp.headers["X-Account-Meta-Color"] == "real"
    assert not [h for h in resp.headers if "sysmeta" in h.lower()]


def test_limits_on_plaintext(meta_server, http):
    url = _account_url(meta_server)
    assert http.post(url, headers={"X-Account-Meta-A": "x" * 256}).status_code == 204
    resp = http.post(url, headers={"X-Account-Meta-A": "x" * 257})
    assert resp.status_code == 400
    assert "Metadata value longer than 256" in resp.text
    assert http.post(url, headers={"X-Account-Meta-M%02d" % i: "v" for i in range(89)}
                     ).status_code == 204
    resp = http.post(url, headers={"X-Account-Meta-Extra": "v"})
    assert resp.status_code == 400 and "Too many metadata items" in resp.text
    assert http.head(url).headers["X-Account-Meta-A"] == "x" * 256
