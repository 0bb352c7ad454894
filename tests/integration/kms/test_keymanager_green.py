"""One BarbicanKeyManager shared by concurrent green threads (as in an
eventlet proxy) gives each call its own answer: 200, 404, 403, 503 and a
timeout from one real Barbican (the 503 and the hang from a loopback
proxy in front of it) come back to the calls that got them, never
swapped (a 503 read as 404 would mean "shredded")."""

import json
import os
import subprocess
import sys
import textwrap
import uuid

from tests.integration.kms.conftest import PROJECT, new_secret
from tests.integration.servers.faultproxy import FaultProxy

# Runs in its own process: eventlet's monkey patching is process-wide.
_SCRIPT = textwrap.dedent("""\
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import eventlet
    eventlet.monkey_patch(all=False, socket=True, select=True, thread=True, time=True)
    from barbicanclient import client as bclient
    from swiftcrypt.keymanager import barbican

    # A response's error handling may yield to other green threads (a
    # logging handler or a statsd send on a green socket does): do it on
    # every response, so the calls interleave between their answer and
    # its translation.
    original = bclient._HTTPClient._check_status_code
    def check(self, resp):
        eventlet.sleep(0.2)
        return original(self, resp)
    bclient._HTTPClient._check_status_code = check

    endpoint, project, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    manager = barbican.BarbicanKeyManager(barbican.BarbicanOptions.from_conf({
        "auth_type": "noauth", "barbican_endpoint": endpoint, "project_id": project,
        "timeout": "5", "retries": "0"}))
    manager.client  # connect once, before the crowd

    def call(name, key_id):
        try:
            secret = manager.get_secret(key_id)
            return name, ["ok", len(secret.payload)]
        except Exception as err:
            return name, [type(err).__name__, getattr(err, "status", None)]

    pool = eventlet.GreenPool(100)
    results = {}
    for name, answer in pool.starmap(call, [(n, k) for n, k in cases]):
        results.setdefault(name, []).append(answer)
    print(json.dumps(results))
    """)

EXPECTED = {
    "found": ["ok", 32],
    "missing": ["SecretNotFound", 404],
    "forbidden": ["AccessDenied", 403],
    "unavailable": ["ServerError", 503],
    "timeout": ["Unreachable", None],
}


def test_interleaved_calls_keep_their_own_outcome(barbican_noauth):
    found = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    forbidden = barbican_noauth.store_secret(new_secret(), project_id="someone-else")
    unavailable = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    hung = barbican_noauth.store_secret(new_secret(), project_id=PROJECT)
    ids = {"found": found, "missing": str(uuid.uuid4()), "forbidden": forbidden,
           "unavailable": unavailable, "timeout": hung}
    # each kind several times, interleaved
    cases = [(name, ids[name]) for _ in range(6) for name in
             ("unavailable", "missing", "found", "forbidden", "timeout")]
    with FaultProxy(barbican_noauth.endpoint) as proxy:
        proxy.fail(unavailable, 503)
        proxy.hang(hung)
        out = subprocess.run(
            [sys.executable, "-c", _SCRIPT, proxy.endpoint, PROJECT, json.dumps(cases)],
            capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(results) == sorted(EXPECTED)
    for name, answers in results.items():
        assert answers == [EXPECTED[name]] * 6, (name, answers)
