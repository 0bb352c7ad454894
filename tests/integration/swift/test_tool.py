"""tools/swift-cluster starts a usable cluster and cleans up after itself."""

import os
import re
import subprocess
import sys

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools", "swift-cluster")


def test_swift_cluster_tool_smoke(tmp_path):
    scratch = tmp_path / "cluster"
    proc = subprocess.run(
        [sys.executable, TOOL, "--crypto", "swift/swiftcrypt", "--dir", str(scratch),
         "--no-wait", "--print-conf"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^Swift proxy:\s+http://127\.0\.0\.1:\d+$", out, re.M), out
    assert re.search(r"^Root secret:\s+\S{44}$", out, re.M), out
    assert "use = egg:swift#keymaster" in out and "use = egg:swiftcrypt#encryption" in out
    assert "keymaster encryption proxy-logging proxy-server" in out
    # --dir keeps the configs; the tmpfs is unmounted and nothing is left running
    assert (scratch / "etc" / "proxy-server.conf").exists()
    with open("/proc/mounts") as fh:
        assert str(scratch) not in fh.read()
