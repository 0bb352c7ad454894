"""Encrypted container metadata through `swiftcrypt serve` with
``encrypt_container_metadata = true`` (the ``meta_server`` fixture): values
round-trip and no plaintext value is anywhere under that server's data dir
(its own scan: the shared server's scan expects container metadata stored
plainly)."""

import uuid


from tests.functional.conftest import found_in_files


def _marker(label):
    return "%s-%s" % (label, uuid.uuid4().hex)


def test_container_metadata_round_trips_and_is_encrypted_at_rest(meta_server, http):
    url = "%s/v1/AUTH_test/cm-%s" % (meta_server.url, uuid.uuid4().hex[:12])
    color, owner, gone = _marker("color"), _marker("owner"), _marker("gone")
    unicode_value = "Zoë-" + uuid.uuid4().hex
    temp_url_key = _marker("tempurlkey")  # stays plain: the control for the scan
    assert http.put(url, headers={"X-Container-Meta-Color": color,
                                  "X-Container-Meta-Gone": gone,
                                  "X-Container-Meta-Temp-Url-Key": temp_url_key}
                    ).status_code == 201
    assert http.post(url, headers={"X-Container-Meta-Owner": owner,
                                   "X-Container-Meta-Name": unicode_value.encode("utf-8"),
                                   "X-Remove-Container-Meta-Gone": "x"}).status_code == 204
    assert http.put(url + "/o", data=b"data").status_code == 201
    for resp in (http.head(url), http.get(url), http.get(url + "?format=json")):
        assert resp.status_code in (200, 204)
        assert resp.headers["X-Container-Meta-Color"] == color
        assert resp.headers["X-Container-Meta-Owner"] == owner
        assert resp.headers["X-Container-Meta-Name"].encode("latin-1").decode("utf-8") \
            == unicode_value
        assert resp.headers["X-Container-Meta-Temp-Url-Key"] == temp_url_key
        assert "X-Container-Meta-Gone" not in resp.headers
        assert not [h for h in resp.headers if "sysmeta" in h.lower()]
    assert http.get(url + "?format=json").json()[0]["name"] == "o"
    # an empty value removes too
    assert http.post(url, headers={"X-Container-Meta-Owner": ""}).status_code == 204
    assert "X-Container-Meta-Owner" not in http.head(url).headers

    found = found_in_files(meta_server.data_dir, [color, owner, gone, unicode_value, temp_url_key])
    assert temp_url_key in found, "the scan did not see plainly stored container metadata"
    del found[temp_url_key]
    assert found == {}


def test_limits_on_plaintext(meta_server, http):
    url = "%s/v1/AUTH_test/cm-%s" % (meta_server.url, uuid.uuid4().hex[:12])
    assert http.put(url).status_code == 201
    assert http.post(url, headers={"X-Container-Meta-A": "x" * 256}).status_code == 204
    resp = http.post(url, headers={"X-Container-Meta-A": "x" * 257})
    assert resp.status_code == 400
    assert "Metadata value longer than 256" in resp.text
    assert http.head(url).headers["X-Container-Meta-A"] == "x" * 256
