"""Run Swift's own functional tests against a ``SwiftCluster``.

The tests ship in the swift sdist (``test/functional``). The sdist is
fetched once with ``pip download`` into ``${SWIFTCRYPT_CACHE:-~/.cache/swiftcrypt}``
and its ``test`` package unpacked beside it (without the sdist's ``swift``
source tree, so the installed swift is the one imported). They run in a
subprocess of this interpreter, with ``SWIFT_TEST_IN_PROCESS=0`` and a
``test.conf`` naming the cluster's proxy and tempauth users; the result comes
back from a JUnit XML report.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

SWIFT_VERSION = "2.38.3"
DEFAULT_FILES = ("test/functional/test_object.py", "test/functional/tests.py")
# modules the functional tests import beyond what swift itself needs
TEST_DEPS = {"pytest": "pytest", "swiftclient": "python-swiftclient", "xattr": "xattr"}
RUN_TIMEOUT = 900


class FuncTestError(RuntimeError):
    """The functional tests could not be fetched or run."""


def cache_dir():
    root = os.environ.get("SWIFTCRYPT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "swiftcrypt")
    os.makedirs(root, exist_ok=True)
    return root


def sdist_path():
    """The swift sdist tarball, downloaded on first use."""
    cache = cache_dir()
    name = "swift-%s.tar.gz" % SWIFT_VERSION
    path = os.path.join(cache, name)
    if os.path.exists(path):
        return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
             "--no-binary", ":all:", "swift==%s" % SWIFT_VERSION, "-d", tmp],
            capture_output=True, text=True, timeout=600)
        got = os.path.join(tmp, name)
        if proc.returncode != 0 or not os.path.exists(got):
            raise FuncTestError("pip download swift==%s failed:\n%s"
                                % (SWIFT_VERSION, (proc.stdout + proc.stderr)[-3000:]))
        os.replace(got, path)
    return path


def test_tree():
    """A directory holding the sdist's ``test`` package, unpacked once."""
    target = os.path.join(cache_dir(), "swift-%s-functests" % SWIFT_VERSION)
    marker = os.path.join(target, ".ready")
    if os.path.exists(marker):
        return target
    shutil.rmtree(target, ignore_errors=True)
    tmp = tempfile.mkdtemp(dir=cache_dir(), prefix=".functests-")
    try:
        prefix = "swift-%s/test/" % SWIFT_VERSION
        with tarfile.open(sdist_path()) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                if not (member.isfile() or member.isdir()):
                    continue
                member.name = member.name[len("swift-%s/" % SWIFT_VERSION):]
                if hasattr(tarfile, "data_filter"):
                    tar.extract(member, tmp, filter="data")
                else:
                    tar.extract(member, tmp)
        if not os.path.exists(os.path.join(tmp, DEFAULT_FILES[1])):
            raise FuncTestError("the sdist has no %s" % DEFAULT_FILES[1])
        open(os.path.join(tmp, ".ready"), "w").close()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def ensure_test_deps():
    """pip install whatever the functional tests import and is missing."""
    missing = [pkg for mod, pkg in TEST_DEPS.items() if importlib.util.find_spec(mod) is None]
    if not missing:
        return
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + missing,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise FuncTestError("pip install %s failed:\n%s" % (missing, proc.stderr[-3000:]))


class Result:
    def __init__(self, tests, failures, errors, skipped, failed_ids, skipped_ids,
                 seconds, output):
        self.tests = tests
        self.failures = failures
        self.errors = errors
        self.skipped = skipped
        self.passed = tests - failures - errors - skipped
        self.failed_ids = failed_ids
        self.skipped_ids = skipped_ids
        self.seconds = seconds
        self.output = output

    def summary(self):
        return "%d passed, %d skipped, %d failed, %d errors (%.0f s)" % (
            self.passed, self.skipped, self.failures, self.errors, self.seconds)


def parse_junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    failed, skipped = [], []
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
        for case in suite.iter("testcase"):
            ident = "%s::%s" % (case.get("classname"), case.get("name"))
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(ident)
            elif case.find("skipped") is not None:
                skipped.append(ident)
    return totals, failed, skipped


def run(cluster, files=DEFAULT_FILES, extra_args=(), timeout=RUN_TIMEOUT):
    """Run the functional test ``files`` against ``cluster``; a Result."""
    import time

    ensure_test_deps()
    tree = test_tree()
    work = tempfile.mkdtemp(prefix="swift-functests-", dir=cluster.root)
    conf = os.path.join(work, "test.conf")
    with open(conf, "w") as fh:
        fh.write(cluster.func_test_conf())
    junit = os.path.join(work, "junit.xml")
    env = dict(os.environ, SWIFT_TEST_CONFIG_FILE=conf, SWIFT_TEST_IN_PROCESS="0")
    env.pop("PYTHONPATH", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-o", "addopts=", "--rootdir", tree, "--junitxml", junit]
    argv += list(extra_args) + list(files)
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise FuncTestError("functional tests did not finish in %d s" % timeout) from exc
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    if not os.path.exists(junit):
        raise FuncTestError("functional tests produced no report (rc %s):\n%s"
                            % (proc.returncode, output[-5000:]))
    totals, failed, skipped = parse_junit(junit)
    if totals["tests"] == 0:
        raise FuncTestError("no functional test ran:\n%s" % output[-5000:])
    return Result(totals["tests"], totals["failures"], totals["errors"], totals["skipped"],
                  failed, skipped, seconds, output)
