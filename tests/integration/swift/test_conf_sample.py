"""etc/proxy-server.conf-sample: its pipeline runs in a real proxy, and it
documents every option of swiftcrypt's filters."""

import base64
import configparser
import os
import re

from swiftcrypt.keymanager import barbican as barbican_options
from tests.integration.swift import at_rest
from tests.integration.swift.conftest import ROOT_SECRET, connect, make_body, unique
from tests.integration.swift_cluster import USERS
from swiftcrypt.common import checksums

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc",
                      "proxy-server.conf-sample")

OPTIONS = {
    "keymaster": ["encryption_root_secret", "encryption_root_secret_", "active_root_secret_id",
                  "meta_version_to_write", "keymaster_config_path"],
    "kms_keymaster": ["key_id", "key_id_", "active_root_secret_id", "meta_version_to_write",
                      "keymaster_config_path"] + list(barbican_options.CONNECTION_OPTIONS),
    "encryption": ["disable_encryption", "verify_body", "encrypt_container_metadata",
                   "plain_container_metadata", "encrypt_account_metadata",
                   "plain_account_metadata"],
}


def load_sample():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    with open(SAMPLE) as fh:
        parser.read_file(fh)
    return parser


def section_text(name):
    """The raw text of ``[name]`` in the sample, comments included."""
    with open(SAMPLE) as fh:
        text = fh.read()
    match = re.search(r"^\[%s\]\n(.*?)(?=^\[|\Z)" % re.escape(name), text, re.S | re.M)
    assert match, name
    return match.group(1)


def test_every_filter_option_is_documented():
    for filt, names in OPTIONS.items():
        text = section_text("filter:" + filt)
        for name in names:
            assert re.search(r"^#? ?%s" % re.escape(name), text, re.M), (filt, name)
        assert "use = egg:swiftcrypt#" + filt in text


def test_sample_pipeline_places_crypto_last():
    pipeline = load_sample().get("pipeline:main", "pipeline").split()
    assert pipeline[-4:] == ["keymaster", "encryption", "proxy-logging", "proxy-server"]
    for needed in ("copy", "slo", "dlo", "versioned_writes", "symlink", "s3api", "tempauth"):
        assert pipeline.index(needed) < pipeline.index("keymaster"), needed


def test_sample_runs_in_a_real_proxy(cluster, plaintexts):
    parser = load_sample()
    parser.set("filter:keymaster", "encryption_root_secret",
               base64.b64encode(ROOT_SECRET).decode())
    parser.set("filter:cache", "memcache_servers", cluster.memcache_servers())
    for (account, user), (key, groups) in USERS.items():
        parser.set("filter:tempauth", "user_%s_%s" % (account, user), ("%s %s" % (key, groups)))
    parser.set("app:proxy-server", "account_autocreate", "true")
    lines = []
    for section in parser.sections():
        lines.append("[%s]" % section)
        lines += ["%s = %s" % (k, v) for k, v in parser.items(section)
                  if k not in parser.defaults()]
        lines.append("")
    cluster.restart_proxy_with_conf("\n".join(lines))
    try:
        conn = connect(cluster)
        cont = unique("sample")
        conn.put_container(cont)
        body = plaintexts.body(make_body("sample-conf", 10000))
        assert conn.put_object(cont, "o", body) == checksums.md5(body).hexdigest()
        assert conn.get_object(cont, "o")[1] == body
        stored = at_rest.find(cluster, "/AUTH_test/%s/o" % cont)
        assert stored.body != body
        assert stored.body_key_path() == "/AUTH_test/%s/o" % cont
    finally:
        cluster.crypto = None  # the next test restarts the proxy it needs
