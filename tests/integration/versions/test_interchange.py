"""tests/compat/test_swift_interchange.py in each Swift release's venv
(swift_versions.VERSIONS): the interchange in both directions with that
Swift's own keymaster and encryption, on that Python; and swiftcrypt's unit
tests and FIPS tier on the oldest (Python 3.9)."""

import os
import subprocess

import pytest

from tests.integration.swift.functests import parse_junit
from tests.integration.versions.swift_versions import OLDEST, REPO_ROOT, VERSIONS, swift_venv

INTERCHANGE = "tests/compat/test_swift_interchange.py"
TIMEOUT = 600


def in_venv(venv, *argv, **kw):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    return subprocess.run([venv.python, *argv], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, **kw)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_interchange_with_swift(version, tmp_path, capsys):
    venv = swift_venv(version)
    probe = in_venv(venv, "-c", "import sys, swift, swiftcrypt; print(swift.__version__, "
                    "'%d.%d' % sys.version_info[:2], swiftcrypt.__file__)")
    assert probe.returncode == 0, probe.stderr
    swift_version, python, where = probe.stdout.split()
    assert (swift_version, python) == (version, VERSIONS[version])
    assert where.startswith(os.path.join(REPO_ROOT, "swiftcrypt")), where
    junit = str(tmp_path / "junit.xml")
    proc = in_venv(venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                   "--junitxml", junit, INTERCHANGE)
    assert os.path.exists(junit), proc.stdout[-3000:] + proc.stderr[-3000:]
    totals, failed, skipped, _outcomes = parse_junit(junit)
    with capsys.disabled():
        print("\nSwift %s on Python %s: interchange %d tests, %d failed, %d skipped"
              % (version, python, totals["tests"], len(failed), len(skipped)))
    assert proc.returncode == 0 and not failed, proc.stdout[-6000:]
    assert not skipped, skipped
    assert totals["tests"] >= 18


@pytest.mark.parametrize("suite,at_least", [("tests/unit", 2000), ("tests/fips", 15)])
def test_suite_on_the_oldest_python(suite, at_least, tmp_path, capsys):
    """swiftcrypt's unit tests, and the FIPS tier (FIPS hosts of the Wallaby
    era run Python 3.9), on Python 3.9 beside Swift 2.27."""
    venv = swift_venv(OLDEST)
    junit = str(tmp_path / "junit.xml")
    proc = in_venv(venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                   "--junitxml", junit, suite)
    assert os.path.exists(junit), proc.stdout[-3000:] + proc.stderr[-3000:]
    totals, failed, skipped, _outcomes = parse_junit(junit)
    with capsys.disabled():
        print("\n%s on Python %s (Swift %s): %d tests, %d failed, %d skipped"
              % (suite, VERSIONS[OLDEST], OLDEST, totals["tests"], len(failed), len(skipped)))
    assert proc.returncode == 0 and not failed, proc.stdout[-6000:]
    assert not skipped, skipped
    assert totals["tests"] >= at_least
