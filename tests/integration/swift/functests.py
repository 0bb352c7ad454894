"""Run Swift's own functional tests against a ``SwiftCluster``.

The tests ship in the swift sdist (``test/functional``). The sdist is
fetched once with ``pip download`` into ``${SWIFTCRYPT_CACHE:-~/.cache/swiftcrypt}``
and its ``test`` package unpacked beside it (without the sdist's ``swift``
source tree, so the installed swift is the one imported). They run in a
subprocess of this interpreter, with ``SWIFT_TEST_IN_PROCESS=0`` and a
``test.conf`` naming the cluster's proxy and tempauth users; the result comes
back from a JUnit XML report. Another release's tests (``version``) run
in the interpreter of the cluster they test (``SwiftCluster(python=...)``,
a venv holding that release and the tests' imports).
"""

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

SWIFT_VERSION = "2.38.3"
DEFAULT_FILES = ("test/functional/test_object.py", "test/functional/tests.py")
# the modules of the middlewares around encryption (and account/container)
MIDDLEWARE_FILES = tuple("test/functional/test_%s.py" % name for name in (
    "slo", "dlo", "symlink", "versioned_writes", "object_versioning", "tempurl",
    "staticweb", "domain_remap", "container", "account"))
# what container metadata goes through: the container API, and the
# middlewares reading container metadata from container info (staticweb's
# web-* settings, tempurl's container keys), which must stay plain
CONTAINER_FILES = ("test/functional/tests.py", "test/functional/test_container.py",
                   "test/functional/test_staticweb.py", "test/functional/test_tempurl.py")
# What Swift's own in-process functional setup adds to a proxy, so that the
# tests needing it run rather than skip: domain_remap (staticweb's and
# domain_remap's tests by Host name), etag-quoter, allow_open_expired
# (X-Open-Expired tests) and a tempauth service account (service token tests).
STORAGE_DOMAIN = "example.net"
SERVICE_USER = ("test5", "tester5", "testing5")
PROXY_APP_OPTIONS = {"allow_open_expired": "true"}
TEMPAUTH_OPTIONS = {
    "reseller_prefix": "AUTH, SERVICE",
    "SERVICE_require_group": "service",
    "user_%s_%s" % SERVICE_USER[:2]: "%s .admin service" % SERVICE_USER[2],
}
# [func_test] options beyond the cluster's test.conf: the above, and the
# reseller admin (tempauth's admin:admin) for test_account's quota tests
EXTRA_CONF = {
    "account6": "admin", "username6": "admin", "password6": "admin",
    "account5": SERVICE_USER[0], "username5": SERVICE_USER[1],
    "password5": SERVICE_USER[2], "service_prefix": "SERVICE",
    "storage_domain": STORAGE_DOMAIN,
}
# modules the functional tests import beyond what swift itself needs
TEST_DEPS = {"pytest": "pytest", "swiftclient": "python-swiftclient", "xattr": "xattr",
             # test_access_control.py skips its Keystone tests without it
             "keystoneclient": "python-keystoneclient"}
RUN_TIMEOUT = 900


class FuncTestError(RuntimeError):
    """The functional tests could not be fetched or run."""


def cache_dir():
    root = os.environ.get("SWIFTCRYPT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "swiftcrypt")
    os.makedirs(root, exist_ok=True)
    return root


def sdist_path(version=SWIFT_VERSION):
    """The swift sdist tarball, downloaded on first use."""
    cache = cache_dir()
    name = "swift-%s.tar.gz" % version
    path = os.path.join(cache, name)
    if os.path.exists(path):
        return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
             "--no-binary", ":all:", "swift==%s" % version, "-d", tmp],
            capture_output=True, text=True, timeout=600)
        got = os.path.join(tmp, name)
        if proc.returncode != 0 or not os.path.exists(got):
            raise FuncTestError("pip download swift==%s failed:\n%s"
                                % (version, (proc.stdout + proc.stderr)[-3000:]))
        os.replace(got, path)
    return path


def test_tree(version=SWIFT_VERSION):
    """A directory holding the sdist's ``test`` package, unpacked once."""
    target = os.path.join(cache_dir(), "swift-%s-functests" % version)
    marker = os.path.join(target, ".ready")
    if os.path.exists(marker):
        return target
    shutil.rmtree(target, ignore_errors=True)
    tmp = tempfile.mkdtemp(dir=cache_dir(), prefix=".functests-")
    try:
        prefix = "swift-%s/test/" % version
        with tarfile.open(sdist_path(version)) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                if not (member.isfile() or member.isdir()):
                    continue
                member.name = member.name[len("swift-%s/" % version):]
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
    """Counts and per-test outcomes of one functional run; ``outcomes`` maps
    a test id (``module.Class::test``) to passed, failed or skipped."""

    def __init__(self, tests, failures, errors, skipped, failed_ids, skipped_ids,
                 seconds, output, outcomes=None):
        self.tests = tests
        self.failures = failures
        self.errors = errors
        self.skipped = skipped
        self.passed = tests - failures - errors - skipped
        self.failed_ids = failed_ids
        self.skipped_ids = skipped_ids
        self.seconds = seconds
        self.output = output
        self.outcomes = dict(outcomes or {})
        # what a pipeline's check read from the cluster before it stopped
        self.inspected = None

    def summary(self):
        return "%d passed, %d skipped, %d failed, %d errors (%.0f s)" % (
            self.passed, self.skipped, self.failures, self.errors, self.seconds)

    def outcomes_of(self, files):
        """``outcomes`` restricted to the tests of the module ``files``."""
        prefixes = tuple(module_of(path) + "." for path in files)
        return {ident: outcome for ident, outcome in self.outcomes.items()
                if ident.startswith(prefixes)}

    def counts_of(self, files):
        """{outcome: number of tests} over the module ``files``."""
        counts = {"passed": 0, "skipped": 0, "failed": 0}
        for outcome in self.outcomes_of(files).values():
            counts[outcome] += 1
        return counts


def module_of(path):
    """The dotted module of a test file: test/functional/tests.py -> test.functional.tests."""
    return path[:-len(".py")].replace("/", ".")


def differences(expected, got):
    """{test id: (outcome in ``expected``, outcome in ``got``)} for each test
    whose outcome differs between two outcome dicts of Result."""
    out = {}
    for ident in set(expected) | set(got):
        pair = (expected.get(ident, "absent"), got.get(ident, "absent"))
        if pair[0] != pair[1]:
            out[ident] = pair
    return out


def parse_junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    failed, skipped, outcomes = [], [], {}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
        for case in suite.iter("testcase"):
            ident = "%s::%s" % (case.get("classname"), case.get("name"))
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(ident)
                outcomes[ident] = "failed"
            elif case.find("skipped") is not None:
                skipped.append(ident)
                outcomes.setdefault(ident, "skipped")
            else:
                outcomes.setdefault(ident, "passed")
    return totals, failed, skipped, outcomes


def with_extra_conf(text, extra=EXTRA_CONF):
    """The test.conf ``text`` with ``extra`` options added to [func_test]."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    for key, value in extra.items():
        parser.set("func_test", key, value)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def add_options(sections, header, options):
    """``sections`` (paste config text) with ``options`` added at the top of
    the section ``header``; FuncTestError if it has no such section."""
    header = "[%s]\n" % header
    if header not in sections:
        raise FuncTestError("the proxy config has no %s" % header.strip())
    lines = "".join("%s = %s\n" % item for item in options.items())
    return sections.replace(header, header + lines, 1)


def functional_proxy_sections(cluster):
    """The paste sections of ``cluster``'s proxy config (as it runs now) with
    the additions of Swift's own functional setup: domain_remap and
    etag-quoter before listing_formats, allow_open_expired and the service
    account."""
    from tests.integration.swift_cluster import swift_filter_section

    text = cluster.proxy_conf()
    start = text.find("[pipeline:main]\n")
    if start < 0:
        raise FuncTestError("the proxy config has no [pipeline:main]")
    lines = text[start:].split("\n")
    for i, line in enumerate(lines):
        if line.startswith("pipeline = "):
            names = line.split()[2:]
            if "listing_formats" not in names:
                raise FuncTestError("no listing_formats in the pipeline: %s" % line)
            at = names.index("listing_formats")
            names[at:at] = ["domain_remap", "etag-quoter"]
            lines[i] = "pipeline = " + " ".join(names)
            break
    else:
        raise FuncTestError("the proxy config has no pipeline line")
    sections = "\n".join(lines)
    sections = add_options(sections, "app:proxy-server", PROXY_APP_OPTIONS)
    sections = add_options(sections, "filter:tempauth", TEMPAUTH_OPTIONS)
    return (sections + "\n"
            + swift_filter_section("domain_remap", {"storage_domain": STORAGE_DOMAIN})
            + swift_filter_section("etag-quoter"))


def start_cluster(cluster, crypto):
    """Start ``cluster`` with ``crypto`` and the proxy config of
    ``functional_proxy_sections``."""
    cluster.start(crypto)
    cluster.restart_proxy_with_conf(functional_proxy_sections(cluster))
    return cluster


def run(cluster, files=DEFAULT_FILES, extra_args=(), timeout=RUN_TIMEOUT, test_conf=None,
        version=SWIFT_VERSION):
    """Run Swift ``version``'s functional test ``files`` against ``cluster``,
    in the cluster's interpreter; a Result. ``test_conf``: the test.conf text
    (default: the cluster's tempauth users with EXTRA_CONF)."""
    import time

    if cluster.python == sys.executable:
        ensure_test_deps()  # another interpreter's venv brings them
    tree = test_tree(version)
    work = tempfile.mkdtemp(prefix="swift-functests-", dir=cluster.root)
    conf = os.path.join(work, "test.conf")
    with open(conf, "w") as fh:
        fh.write(test_conf or with_extra_conf(cluster.func_test_conf()))
    junit = os.path.join(work, "junit.xml")
    env = dict(os.environ, SWIFT_TEST_CONFIG_FILE=conf, SWIFT_TEST_IN_PROCESS="0")
    env.pop("PYTHONPATH", None)
    argv = [cluster.python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
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
    totals, failed, skipped, outcomes = parse_junit(junit)
    if totals["tests"] == 0:
        raise FuncTestError("no functional test ran:\n%s" % output[-5000:])
    return Result(totals["tests"], totals["failures"], totals["errors"], totals["skipped"],
                  failed, skipped, seconds, output, outcomes)
