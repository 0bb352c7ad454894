"""kms_keymaster across a seamless reload (Swift's proxy re-executes
itself on SIGUSR1 and loads its pipeline again), against a real Barbican:
a program builds the filter, then os.execv()s itself as Swift's proxy
does, and the new program builds it again.

- Barbican up: the reload takes the configured secrets as they are now
  (a key id added to the config, i.e. a rotation, is fetched).
- Barbican frozen: the reloaded program keeps serving with the secrets
  the previous one had (handed over in memory, never on disk), and says
  so in its log; a key id it did not have still fails start-up, and so
  does a fresh start (no previous program).
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

from tests.integration.kms.conftest import PROJECT, new_secret, noauth_conf

_SCRIPT = textwrap.dedent("""\
    import hashlib, json, logging, os, sys, warnings
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from swiftcrypt.keymasters import kms_keymaster
    from swiftcrypt.common.errors import ConfigError

    stage, confs = sys.argv[1], json.loads(sys.argv[2])
    conf = confs[int(stage)]
    try:
        km = kms_keymaster.filter_factory({}, **conf)(None)
        roots = km.root_secrets
        digests = {str(k): hashlib.sha256(roots.get(k)).hexdigest() for k in roots.ids()}
        print(json.dumps({"stage": stage, "ok": digests}), flush=True)
    except ConfigError as err:
        print(json.dumps({"stage": stage, "error": str(err)}), flush=True)
    if int(stage) + 1 < len(confs):
        sys.stdin.readline()  # the test freezes Barbican (or not), then says go
        os.execv(sys.executable, [sys.executable, "-c", sys.argv[3],
                                  str(int(stage) + 1), sys.argv[2], sys.argv[3]])
    """)


def run(confs, between):
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, "0", json.dumps(confs), _SCRIPT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = []
    try:
        for stage in range(len(confs)):
            line = proc.stdout.readline()
            if not line:
                proc.kill()
                raise AssertionError("stage %d said nothing: %s" % (
                    stage, proc.communicate()[1][-3000:]))
            results.append(json.loads(line))
            if stage + 1 < len(confs):
                between[stage]()
                proc.stdin.write("go\n")
                proc.stdin.flush()
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    return results, err


def digest(secret):
    return hashlib.sha256(secret).hexdigest()


def test_seamless_reload_with_barbican_up_then_frozen(barbican_noauth):
    old, new = new_secret(), new_secret()
    old_id = barbican_noauth.store_secret(old, project_id=PROJECT)
    new_id = barbican_noauth.store_secret(new, project_id=PROJECT)
    first = noauth_conf(barbican_noauth, key_id=old_id, timeout="1")
    rotated = noauth_conf(barbican_noauth, key_id=old_id, key_id_2=new_id,
                          active_root_secret_id="2", timeout="1")
    unknown = noauth_conf(barbican_noauth, key_id=old_id, key_id_3=new_secret().hex()[:8]
                          + "-0000-4000-8000-000000000003", active_root_secret_id="3",
                          timeout="1")
    stage = {"paused": False}

    def freeze():
        barbican_noauth.pause()
        stage["paused"] = True

    try:
        # start; reload with a rotation (Barbican up); reload frozen (twice:
        # a handover outlives more than one reload); reload frozen with a
        # key id never fetched
        results, err = run([first, rotated, rotated, rotated, unknown],
                           [lambda: None, freeze, lambda: None, lambda: None])
    finally:
        if stage["paused"]:
            barbican_noauth.resume()
    assert results[0] == {"stage": "0", "ok": {"None": digest(old)}}
    both = {"None": digest(old), "2": digest(new)}
    assert results[1] == {"stage": "1", "ok": both}       # new secret taken on reload
    assert results[2] == {"stage": "2", "ok": both}       # Barbican frozen: handed over
    assert results[3] == {"stage": "3", "ok": both}
    assert results[4]["stage"] == "4" and results[4]["error"].startswith("key_id_3: ")
    assert "handed over by the program before this reload" in err
    for secret in (old, new):
        assert secret.hex() not in err and digest(secret) not in err


def test_fresh_start_with_barbican_frozen_fails_fast(barbican_noauth):
    secret_id = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    conf = noauth_conf(barbican_noauth, key_id=secret_id, timeout="1")
    barbican_noauth.pause()
    try:
        env = {k: v for k, v in os.environ.items() if k != "SWIFTCRYPT_KMS_HANDOVER_FD"}
        out = subprocess.run([sys.executable, "-c", _SCRIPT, "0", json.dumps([conf]), _SCRIPT],
                             capture_output=True, text=True, timeout=120, env=env)
    finally:
        barbican_noauth.resume()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["error"].startswith("key_id: secret %s: " % secret_id)
    assert "did not answer within the timeout of 1 s" in result["error"]
