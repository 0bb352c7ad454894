"""A one-node OpenStack Swift cluster on 127.0.0.1, built in a scratch dir.

``SwiftCluster`` builds rings and configs, starts memcached and the account,
container, object and proxy servers of the swift package installed beside
the running interpreter (or ``SwiftCluster(python=...)``'s, e.g. an older
Swift's venv), and can restart the proxy alone with another
pipeline over the same data (to swap keymaster/encryption filters the way an
operator would on a live cluster). ``stop()`` ends every process it started,
unmounts its tmpfs and removes the scratch dir.

The crypto part of the proxy pipeline is a ``Crypto``::

    Crypto()                                   # no encryption at all
    Crypto("swift", "swift", secrets)          # Swift's keymaster + encryption
    Crypto("swiftcrypt", "swiftcrypt", secrets)
    Crypto("kms", "swiftcrypt", options={...}) # swiftcrypt's kms_keymaster
    Crypto("account", "swiftcrypt", options={...})  # swiftcrypt's account_keymaster

Storage policies: 0 (``Policy-0``, replicated, one replica on d1, the
default) and 1 (``ec``: erasure coded, 2 data + 1 parity fragments over
d1, d2, d3, ``EC_SEGMENT_SIZE`` bytes per segment); a container PUT with
``X-Storage-Policy: ec`` uses the latter. Swift takes policies from
/etc/swift/swift.conf only, so every server starts through a bootstrap
that points Swift at the cluster's own swift.conf first
(``use_swift_conf``, ``python_argv``); the machine's /etc is never
written.

``secrets`` maps a secret id (``None`` for ``encryption_root_secret``) to
raw bytes; ``active`` names the active one (neither is given to the
"account" kind: account_keymaster refuses them). Object server devices live on a
tmpfs (mounted under the scratch dir when we may, else under /dev/shm),
because encrypted objects' xattrs outgrow ext4's limit.

Usage::

    with SwiftCluster() as cluster:
        cluster.start(Crypto("swiftcrypt", "swiftcrypt", {None: secret}))
        token_url, token = cluster.auth("test", "tester")
        ...
        cluster.restart_proxy(Crypto("swift", "swift", {None: secret}))
"""

import base64
import glob
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid

HOST = "127.0.0.1"

# tempauth users: (account, user) -> (key, groups). The functional tests
# need test:tester, test2:tester2 (owners) and test:tester3 (no admin).
USERS = {
    ("admin", "admin"): ("admin", ".admin .reseller_admin"),
    ("test", "tester"): ("testing", ".admin"),
    ("test", "tester2"): ("testing2", ".admin"),
    ("test", "tester3"): ("testing3", ""),
    ("test2", "tester2"): ("testing2", ".admin"),
}

# an object header the cluster's object servers keep (allowed_headers)
CUSTOM_ALLOWED_HEADER = "X-Rekey-Test-Kept"

KEYMASTERS = {
    "swift": "egg:swift#keymaster",
    "swiftcrypt": "egg:swiftcrypt#keymaster",
    "kms": "egg:swiftcrypt#kms_keymaster",
    # Swift's own kms_keymaster (castellan): the same Barbican options
    "swift_kms": "egg:swift#kms_keymaster",
    # a root secret per account in Barbican; takes no inline secrets, only
    # the Barbican options (or keymaster_config_path) in ``options``
    "account": "egg:swiftcrypt#account_keymaster",
}
ENCRYPTIONS = {
    "swift": "egg:swift#encryption",
    "swiftcrypt": "egg:swiftcrypt#encryption",
}

# The proxy's own Swift filters, in pipeline order. Each has a section
# [filter:NAME] using Swift's entry point NAME, dashes as underscores, unless
# SWIFT_ENTRY_POINTS names another.
PROXY_FILTERS = (
    "catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "cache",
    "listing_formats", "bulk", "tempurl", "s3api", "tempauth", "staticweb", "copy",
    "container-quotas", "account-quotas", "slo", "dlo", "versioned_writes", "symlink",
)
SWIFT_ENTRY_POINTS = {"cache": "memcache"}
PIPELINE_HEAD = " ".join(PROXY_FILTERS)
PIPELINE_TAIL = "proxy-logging proxy-server"

START_TIMEOUT = 60.0
# a seamless reload loads the pipeline twice (the re-exec'ed server, then its
# new worker), a kms_keymaster fetching its secrets each time
RELOAD_TIMEOUT = 180.0

# Swift's background daemons ``run_daemon`` can run: name -> (the server
# whose [DEFAULT] it shares, its module). Each reads the [<name>] section.
DAEMONS = {
    "container-sync": ("container", "swift.container.sync"),
    "container-replicator": ("container", "swift.container.replicator"),
    "container-reconciler": ("container", "swift.container.reconciler"),
    "container-updater": ("container", "swift.container.updater"),
    "object-expirer": ("object", "swift.obj.expirer"),
}
DAEMON_TIMEOUT = 120.0
# The cluster's container sync realm (etc/container-sync-realms.conf):
# X-Container-Sync-To: //<SYNC_REALM>/<SYNC_CLUSTER>/<account>/<container>.
# Written before the servers start, which read it then.
SYNC_REALM, SYNC_CLUSTER = "swiftcrypt", "one"


def filter_section(name, use, options=None):
    """The paste section ``[filter:NAME]``: ``use = USE``, then ``options``."""
    lines = ["[filter:%s]" % name, "use = %s" % use]
    lines += ["%s = %s" % item for item in (options or {}).items()]
    return "\n".join(lines) + "\n\n"


def swift_filter_section(name, options=None):
    """``filter_section`` for Swift's own filter ``name``."""
    entry = SWIFT_ENTRY_POINTS.get(name, name.replace("-", "_"))
    return filter_section(name, "egg:swift#" + entry, options)


class ClusterError(RuntimeError):
    """The cluster could not be built, started or stopped."""


class Crypto:
    """The keymaster/encryption part of a proxy pipeline."""

    def __init__(self, keymaster=None, encryption=None, secrets=None, active=None,
                 meta_version=None, options=None, encryption_options=None):
        if keymaster is not None and keymaster not in KEYMASTERS:
            raise ValueError("unknown keymaster %r" % (keymaster,))
        if encryption is not None and encryption not in ENCRYPTIONS:
            raise ValueError("unknown encryption %r" % (encryption,))
        if keymaster == "account" and (secrets or active is not None):
            raise ValueError("account_keymaster takes no root secrets (they are in Barbican)")
        self.keymaster = keymaster
        self.encryption = encryption
        self.secrets = dict(secrets or {})
        self.active = active
        self.meta_version = meta_version
        self.options = dict(options or {})
        self.encryption_options = dict(encryption_options or {})  # [filter:encryption]

    def __repr__(self):
        return "Crypto(keymaster=%r, encryption=%r, secret_ids=%r, active=%r)" % (
            self.keymaster, self.encryption, sorted(self.secrets, key=str), self.active)

    def filters(self):
        """Pipeline names of the crypto filters, in order."""
        names = []
        if self.keymaster:
            names.append("keymaster")
        if self.encryption:
            names.append("encryption")
        return names

    def keymaster_options(self):
        opts = {}
        for secret_id, secret in self.secrets.items():
            name = "encryption_root_secret"
            if secret_id is not None:
                name += "_" + secret_id
            opts[name] = base64.b64encode(secret).decode("ascii")
        if self.active is not None:
            opts["active_root_secret_id"] = self.active
        if self.meta_version is not None:
            opts["meta_version_to_write"] = str(self.meta_version)
        opts.update(self.options)
        return opts

    def sections(self):
        """The paste sections for the crypto filters."""
        text = ""
        if self.keymaster:
            text += filter_section("keymaster", KEYMASTERS[self.keymaster],
                                   self.keymaster_options())
        if self.encryption:
            text += filter_section("encryption", ENCRYPTIONS[self.encryption],
                                   self.encryption_options)
        return text


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def ensure_memcached():
    """Path of memcached; apt-get installs it when missing (needs root)."""
    found = shutil.which("memcached") or (
        "/usr/bin/memcached" if os.path.exists("/usr/bin/memcached") else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ClusterError("memcached is not installed and cannot be (need root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "memcached"]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterError("apt-get install memcached failed:\n%s" % proc.stderr[-2000:])
    found = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(found):
        raise ClusterError("memcached still missing after apt-get install")
    return found


def current_user():
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


# argv: replicas, devices (comma-separated ZONE:PORT:DEVICE), path - per ring
RING_SCRIPT = """
import sys
from swift.common.ring import RingBuilder
args = sys.argv[1:]
for replicas, devices, path in zip(*[iter(args)] * 3):
    builder = RingBuilder(8, int(replicas), 1)
    for dev_id, spec in enumerate(devices.split(",")):
        zone, port, device = spec.split(":")
        builder.add_dev({"id": dev_id, "region": 1, "zone": int(zone), "ip": "127.0.0.1",
                         "port": int(port), "device": device, "weight": 100})
    builder.rebalance()
    builder.save(path + ".builder")
    builder.get_ring().save(path + ".ring.gz")
"""

# The erasure-coded policy: 2 data + 1 parity fragments, one per device of
# the object server (d1..d3 on the same tmpfs), and small segments so that
# multi-segment objects stay cheap.
EC_POLICY_NAME = "ec"
EC_POLICY_INDEX = 1
EC_SEGMENT_SIZE = 65536
EC_DEVICES = ("d1", "d2", "d3")

# Swift's background daemons a multi-node cluster runs on every storage
# node: (server kind whose config holds its section, module, section).
# Objects replicate over SSYNC (the object servers' own verb); the account
# and container replicators merge rows over HTTP (REPLICATE) and need rsync
# only to ship a whole database a node never had, which these tests avoid.
NODE_DAEMONS = (
    ("object", "swift.obj.replicator", "object-replicator"),
    ("object", "swift.obj.reconstructor", "object-reconstructor"),
    ("object", "swift.obj.updater", "object-updater"),
    ("object", "swift.obj.auditor", "object-auditor"),
    # one per node, each taking its share of the queue (processes/process)
    # through an internal client with no crypto: it only lists and DELETEs
    ("object", "swift.obj.expirer", "object-expirer"),
    ("container", "swift.container.replicator", "container-replicator"),
    ("container", "swift.container.updater", "container-updater"),
    ("account", "swift.account.replicator", "account-replicator"),
)
DAEMON_INTERVAL = 5  # seconds between passes: quick to settle, cheap on 2 cores


def use_swift_conf(path):
    """Make the Swift code of this process read ``path`` as swift.conf.

    Swift reads storage policies and constraints from the module constant
    ``swift.common.utils.SWIFT_CONF_FILE`` (``/etc/swift/swift.conf``) at
    import, whatever a server's ``swift_dir`` says (``set_swift_dir``
    re-reads only the hash path prefix/suffix); this points it at ``path``
    and reloads the hash path, the policies and the constraints from there.
    Returns a function that puts back the state from before."""
    from swift.common import constraints, storage_policy, utils

    # _POLICIES is what the POLICIES singleton reads through
    saved = (utils.SWIFT_CONF_FILE, utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX,
             storage_policy._POLICIES)

    def restore():
        (utils.SWIFT_CONF_FILE, utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX,
         storage_policy._POLICIES) = saved
        constraints.reload_constraints()

    utils.SWIFT_CONF_FILE = path
    utils.HASH_PATH_PREFIX = utils.HASH_PATH_SUFFIX = b""
    try:
        utils.validate_hash_conf()
        storage_policy.reload_storage_policies()
        constraints.reload_constraints()
    except BaseException:  # a bad file (reload raises SystemExit) changes nothing
        restore()
        raise
    return restore


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs MODULE.main() with argv ARGS... after use_swift_conf(SWIFT_CONF), for
# the servers and the tools we start (argv: REPO_ROOT SWIFT_CONF MODULE ARGS...).
# The repo root leaves sys.path again before main() runs. Swift before 2.34
# has no main() in its server modules: there the venv's bin/ script of that
# server (LEGACY_SCRIPTS) runs instead.
BOOT_SCRIPT = """
import importlib, os, runpy, sys
root, swift_conf, module = sys.argv[1:4]
sys.path.insert(0, root)
from tests.integration.swift_cluster import LEGACY_SCRIPTS, use_swift_conf
sys.path.remove(root)
use_swift_conf(swift_conf)
sys.argv = [module] + sys.argv[4:]
main = getattr(importlib.import_module(module), "main", None)
if main is None and module in LEGACY_SCRIPTS:
    script = os.path.join(os.path.dirname(sys.executable), LEGACY_SCRIPTS[module])
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")
sys.exit(main())
"""
LEGACY_SCRIPTS = {"swift.account.server": "swift-account-server",
                  "swift.container.server": "swift-container-server",
                  "swift.obj.server": "swift-object-server",
                  "swift.proxy.server": "swift-proxy-server"}


LAUNCHER_SCRIPT = """\
import importlib, sys
sys.path.insert(0, %(root)r)
from tests.integration.swift_cluster import use_swift_conf
sys.path.remove(%(root)r)
use_swift_conf(%(swift_conf)r)
sys.exit(importlib.import_module(%(module)r).main())
"""


class SwiftCluster:
    """Build, run and tear down a Swift cluster: one node and one proxy by
    default; ``nodes=3`` gives three storage nodes (each its own account,
    container and object servers on ports of their own, and two devices
    ``d<N>`` and ``d<N>b``, each a tmpfs of its own, in zone N), rings of
    three replicas (one per zone, handoffs on the other devices), the EC
    policy's three fragments likewise, and Swift's daemons (``NODE_DAEMONS``) on
    every node;
    ``proxies=2`` a second proxy (``proxy2``) sharing the memcached."""

    def __init__(self, root=None, keep=False, python=None, syslog_sink=False, env=None,
                 nodes=1, proxies=1, daemons=None):
        if nodes != 1 and nodes < 3:
            raise ValueError("nodes: 1, or 3 and more (three replicas, EC 2+1)")
        if proxies < 1:
            raise ValueError("proxies: 1 or more")
        self.nodes = nodes
        self.proxy_names = ("proxy",) + tuple("proxy%d" % i for i in range(2, proxies + 1))
        # multi-node clusters run the daemons unless told otherwise
        self.daemons = (nodes > 1) if daemons is None else bool(daemons)
        self._proxy_crypto = {}  # crypto of every proxy but the first (self.crypto)
        self._own_root = root is None
        # the interpreter whose swift (and swiftcrypt) the servers run: this
        # one, or e.g. an older Swift's venv (tests/integration/versions)
        self.python = python or sys.executable
        # Swift before 2.3x logs to syslog with no fallback: without /dev/log
        # every log line fails (a traceback, ~0.1 s per request); with this,
        # the servers log to a socket of ours, drained into log/syslog.log
        self.syslog_sink = syslog_sink
        self._sink = None
        # the environment of every server (e.g. tests/fips's MD5 guard)
        self.env = dict(os.environ, **(env or {}))
        self.root = os.path.abspath(root or tempfile.mkdtemp(prefix="swiftcrypt-cluster-"))
        self.keep = keep
        self.etc = os.path.join(self.root, "etc")
        self.logs = os.path.join(self.root, "log")
        self.run_dir = os.path.join(self.root, "run")
        self.devices = None
        self._mounted = None
        self._shm_dir = None
        self._device_mounts = []  # a tmpfs per device (multi-node, as root)
        self.ports = {}
        self.procs = {}
        self.crypto = None
        self.proxy_conf_extra = ""
        self.hash_suffix = uuid.uuid4().hex
        self.hash_prefix = uuid.uuid4().hex

    # ------------------------------------------------------------------ info
    @property
    def swift_conf(self):
        """This cluster's swift.conf (see use_swift_conf)."""
        return os.path.join(self.etc, "swift.conf")

    @property
    def url(self):
        return self.proxy_url()

    def proxy_url(self, proxy="proxy"):
        """The endpoint of proxy ``proxy`` (one of ``proxy_names``)."""
        return "http://%s:%d" % (HOST, self.ports[proxy])

    @property
    def auth_url(self):
        return self.url + "/auth/v1.0"

    def auth(self, account="test", user="tester", proxy="proxy"):
        """(storage_url, token) for a tempauth user, via plain HTTP."""
        key = USERS[(account, user)][0]
        conn = http.client.HTTPConnection(HOST, self.ports[proxy], timeout=30)
        try:
            conn.request("GET", "/auth/v1.0", headers={
                "X-Auth-User": "%s:%s" % (account, user), "X-Auth-Key": key})
            resp = conn.getresponse()
            resp.read()
            if resp.status // 100 != 2:
                raise ClusterError("auth as %s:%s failed: %s" % (account, user, resp.status))
            return resp.getheader("X-Storage-Url"), resp.getheader("X-Auth-Token")
        finally:
            conn.close()

    def describe(self):
        lines = ["Swift proxy:   %s" % self.url]
        for proxy in self.proxy_names[1:]:
            lines.append("Swift %-8s %s  (memcached shared: a token works on every proxy)"
                         % (proxy + ":", self.proxy_url(proxy)))
        if self.nodes > 1:
            lines.append("Storage nodes: %d, three replicas; %s" % (self.nodes, ", ".join(
                "%s:%d" % (name, self.ports[name]) for name, _k, _n in self.storage_servers())))
            if self.daemons:
                lines.append("Daemons:       " + ", ".join(d[2] for d in NODE_DAEMONS)
                             + " on every node")
        lines += [
            "Auth (v1.0):   %s" % self.auth_url,
            "Users:         " + ", ".join(
                "%s:%s/%s" % (a, u, k) for (a, u), (k, _g) in USERS.items()),
            "S3 (s3api):    %s  access key test:tester  secret testing  region us-east-1"
            % self.url,
            "Policies:      Policy-0 (default, replicated), %s (erasure coded 2+1, "
            "%d-byte segments)" % (EC_POLICY_NAME, EC_SEGMENT_SIZE),
            "Crypto:        %r" % (self.crypto,),
        ] + ["Crypto %-7s %r" % (p + ":", self.crypto_of(p)) for p in self.proxy_names[1:]] + [
            "Scratch dir:   %s" % self.root,
            "Devices:       %s" % self.devices,
            "Logs:          %s" % self.logs,
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------- lifecycle
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, crypto=None, proxy_conf_extra=""):
        """Build everything and start all servers; ClusterError on failure."""
        for attempt in range(3):
            try:
                self._build()
                self._start_memcached()
                for name, kind, _node in self.storage_servers():
                    self._start_server(kind, name)
                for name, _kind, _node in self.storage_servers():
                    self._wait_healthy(name)
                for proxy in self.proxy_names:
                    self.restart_proxy(crypto or Crypto(), proxy_conf_extra, proxy=proxy)
                if self.daemons:
                    self.start_daemons()
                return self
            except ClusterError as exc:
                port_taken = "Could not bind" in str(exc) or "in use" in str(exc)
                if not port_taken or attempt == 2:
                    self.stop()
                    raise
                # another process took a port we picked: new ports, again
                for name in list(self.procs):
                    self._stop_proc(name)
            except BaseException:
                self.stop()
                raise
        return self

    def restart_proxy(self, crypto=None, proxy_conf_extra=None, proxy="proxy"):
        """(Re)start the proxy ``proxy`` alone with ``crypto`` in its pipeline."""
        if crypto is not None:
            self._set_crypto(proxy, crypto)
        if proxy_conf_extra is not None:
            self.proxy_conf_extra = proxy_conf_extra
        self._stop_proc(proxy)
        self._write_proxy_conf(proxy)
        self._start_server("proxy", proxy)
        self._wait_healthy(proxy)
        return self

    def crypto_of(self, proxy="proxy"):
        """The Crypto proxy ``proxy`` runs (or was last given)."""
        return self.crypto if proxy == "proxy" else self._proxy_crypto.get(proxy)

    def _set_crypto(self, proxy, crypto):
        if proxy == "proxy":
            self.crypto = crypto
        else:
            self._proxy_crypto[proxy] = crypto

    def proxy_conf_path(self, proxy="proxy"):
        return os.path.join(self.etc, "%s-server.conf" % proxy)

    def _write_proxy_conf(self, proxy):
        # written aside and renamed: a proxy re-exec'ing meanwhile reads
        # the old file or the new one, never half of one
        path = self.proxy_conf_path(proxy)
        with open(path + ".tmp", "w") as fh:
            fh.write(self.proxy_conf(proxy))
        os.rename(path + ".tmp", path)

    def reload_proxy(self, crypto, proxy="proxy", timeout=RELOAD_TIMEOUT):
        """Reload proxy ``proxy`` gracefully with ``crypto`` in its pipeline,
        as ``swift-init proxy reload-seamless`` does: a new config file,
        then SIGUSR1; Swift's proxy re-execs itself (same pid, same listening
        port), its new worker loads the new pipeline, and the old worker
        finishes the requests it has. Returns once the new worker is
        serving alone; ClusterError if it does not within ``timeout``.

        "Started child" is logged at the fork, before the new worker has
        loaded its pipeline; until it has, the old worker still accepts
        connections (and answers /healthcheck). Only once the new worker is
        ready does the old server's temporary child shut the old listening
        socket, and log so: that line is what is waited for."""
        self._set_crypto(proxy, crypto)
        self._write_proxy_conf(proxy)
        log = os.path.join(self.logs, "%s.log" % proxy)

        def handed_over():
            with open(log, "rb") as fh:
                return fh.read().count(b"notified to shutdown old listen sockets")

        before = handed_over()
        pid = self.procs[proxy].pid
        self.reload_proxy_seamless(proxy)
        deadline = time.monotonic() + timeout
        while handed_over() <= before:
            self._check_alive(proxy)
            if time.monotonic() > deadline:
                raise ClusterError("%s (pid %d) did not reload; log tail:\n%s"
                                   % (proxy, pid, self.log_tail(proxy)))
            time.sleep(0.1)
        self._wait_healthy(proxy)
        return self

    def kill_proxy(self, proxy="proxy"):
        """SIGKILL proxy ``proxy`` and its workers (a crashed host)."""
        proc = self.procs.pop(proxy)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=15)

    # ------------------------------------------------------- storage nodes
    def storage_servers(self, node=None):
        """(name, kind, node) of every account, container and object
        server (of node ``node`` only if given). One node: named by kind,
        as before; several: "object2" is node 2's object server."""
        found = []
        for number in range(1, self.nodes + 1):
            if node is not None and number != node:
                continue
            for kind in ("account", "container", "object"):
                name = kind if self.nodes == 1 else "%s%d" % (kind, number)
                found.append((name, kind, number))
        return found

    def node_devices(self, node=1):
        """The ``devices`` directory of storage node ``node``."""
        if self.nodes == 1:
            return self.devices
        return os.path.join(self.devices, "node%d" % node)

    def node_device_names(self, node=1):
        # several nodes: two devices each, so that a replica or fragment
        # whose node or device is down has a handoff to go to
        return EC_DEVICES if self.nodes == 1 else ("d%d" % node, "d%db" % node)

    def daemon_names(self, node=None):
        """(name, kind, module, node) of every daemon of the cluster."""
        return [("%s%d" % (section, number), kind, module, number)
                for number in range(1, self.nodes + 1) if node in (None, number)
                for kind, module, section in NODE_DAEMONS]

    def start_daemons(self, node=None):
        """Start Swift's daemons (NODE_DAEMONS) on every node (or ``node``)."""
        for name, kind, module, number in self.daemon_names(node):
            server = [n for n, k, _n in self.storage_servers(number) if k == kind][0]
            conf = self._storage_conf_path(kind, server)
            self._spawn(name, self.python_argv(module, conf, "--verbose"))

    def kill_node(self, node):
        """SIGKILL every server and daemon of storage node ``node``."""
        names = [n for n, _k, _n in self.storage_servers(node)]
        names += [n for n, _k, _m, _s in self.daemon_names(node)]
        for name in names:
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=15)

    def start_node(self, node):
        """Start storage node ``node``'s servers (and daemons) again."""
        for name, kind, _n in self.storage_servers(node):
            self._start_server(kind, name)
        for name, _kind, _n in self.storage_servers(node):
            self._wait_healthy(name)
        if self.daemons:
            self.start_daemons(node)

    def device_path(self, node, device=None):
        """The directory of node ``node``'s device ``device`` (its first)."""
        return os.path.join(self.node_devices(node), device or self.node_device_names(node)[0])

    def fail_device(self, node, device=None):
        """Unmount node ``node``'s device (its own tmpfs): the servers see it
        unmounted (mount_check) and answer 507 for it."""
        path = self.device_path(node, device)
        if path not in self._device_mounts:
            raise ClusterError("device %s is not a mount of its own (not root?)" % path)
        # lazily: the servers' open databases keep it busy; detached, it is
        # gone from every path lookup at once, as a dead disk is
        proc = subprocess.run(["umount", "-l", path], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterError("umount %s: %s" % (path, proc.stderr))
        self._device_mounts.remove(path)

    def replace_device(self, node, device=None):
        """Mount a new, empty tmpfs where the failed device was (a disk
        swapped): the replicators fill it again."""
        path = self.device_path(node, device)
        self._mount_tmpfs(path, "512m")
        self._device_mounts.append(path)

    def restart_proxy_with_conf(self, sections):
        """(Re)start the proxy with this cluster's [DEFAULT] and ``sections``
        (paste pipeline/app/filter sections as text) as its whole config."""
        self._stop_proc("proxy")
        self.crypto = None
        with open(os.path.join(self.etc, "proxy-server.conf"), "w") as fh:
            fh.write(self._common("proxy") + "\n" + sections)
        self._start_server("proxy")
        self._wait_healthy()
        return self

    def memcache_servers(self):
        return "%s:%d" % (HOST, self.ports["memcached"])

    def use(self, crypto, proxy_conf_extra=""):
        """Restart the proxy with ``crypto`` unless it already runs with it."""
        old = (self.crypto, self.proxy_conf_extra)
        self.crypto, self.proxy_conf_extra = crypto, proxy_conf_extra
        wanted = self.proxy_conf()
        self.crypto, self.proxy_conf_extra = old
        path = os.path.join(self.etc, "proxy-server.conf")
        running = "proxy" in self.procs and self.procs["proxy"].poll() is None
        if running and os.path.exists(path):
            with open(path) as fh:
                if fh.read() == wanted:
                    self.crypto, self.proxy_conf_extra = crypto, proxy_conf_extra
                    return self
        return self.restart_proxy(crypto, proxy_conf_extra)

    def stop(self):
        """Stop every process, unmount the tmpfs, remove the scratch dir."""
        errors = []
        for name in list(self.procs):
            try:
                self._stop_proc(name)
            except Exception as exc:  # keep tearing down
                errors.append("%s: %s" % (name, exc))
        if self._sink is not None:
            sink, thread, stopping = self._sink
            stopping.set()
            thread.join(5)
            sink.close()
            self._sink = None
        for path in reversed(self._device_mounts):
            if subprocess.run(["umount", path], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", path], capture_output=True)
        self._device_mounts = []
        if self._mounted:
            proc = subprocess.run(["umount", self._mounted], capture_output=True, text=True)
            if proc.returncode != 0:
                subprocess.run(["umount", "-l", self._mounted], capture_output=True)
            self._mounted = None
        if self._shm_dir and not self.keep:
            shutil.rmtree(self._shm_dir, ignore_errors=True)
            self._shm_dir = None
        if self._own_root and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise ClusterError("teardown: " + "; ".join(errors))

    # ----------------------------------------------------------------- build
    def _build(self):
        for path in (self.etc, self.logs, self.run_dir):
            os.makedirs(path, exist_ok=True)
        for node in range(1, self.nodes + 1) if self.nodes > 1 else ():
            os.makedirs(os.path.join(self.run_dir, "node%d" % node), exist_ok=True)
        if self.syslog_sink and self._sink is None:
            self._start_syslog_sink()
        self._make_devices()
        for name, _kind, _node in self.storage_servers():
            self.ports[name] = free_port()
        for proxy in self.proxy_names:
            self.ports[proxy] = free_port()
        self.ports["memcached"] = free_port()
        with open(os.path.join(self.etc, "container-sync-realms.conf"), "w") as fh:
            fh.write("[%s]\nkey = %s\ncluster_%s = %s/v1/\n"
                     % (SYNC_REALM, uuid.uuid4().hex, SYNC_CLUSTER, self.url))
        with open(self.swift_conf, "w") as fh:
            fh.write(textwrap.dedent("""\
                [swift-hash]
                swift_hash_path_suffix = %s
                swift_hash_path_prefix = %s

                [storage-policy:0]
                name = Policy-0
                default = yes

                [storage-policy:%d]
                name = %s
                policy_type = erasure_coding
                ec_type = liberasurecode_rs_vand
                ec_num_data_fragments = 2
                ec_num_parity_fragments = 1
                ec_object_segment_size = %d
                """ % (self.hash_suffix, self.hash_prefix, EC_POLICY_INDEX,
                       EC_POLICY_NAME, EC_SEGMENT_SIZE)))
        args = []
        for kind in ("account", "container", "object"):
            if self.nodes == 1:  # one replica on d1
                devices = "1:%d:d1" % self.ports[kind]
            else:  # each node its zone: one replica per node
                devices = self._ring_devices(kind)
            args += ["1" if self.nodes == 1 else "3", devices, os.path.join(self.etc, kind)]
        if self.nodes == 1:  # the three fragments on d1..d3 of the one node
            devices = ",".join("1:%d:%s" % (self.ports["object"], d) for d in EC_DEVICES)
        else:
            devices = self._ring_devices("object")
        args += [str(len(EC_DEVICES)), devices,
                 os.path.join(self.etc, "object-%d" % EC_POLICY_INDEX)]
        proc = subprocess.run([self.python, "-c", RING_SCRIPT] + args,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterError("ring building failed:\n%s" % proc.stderr[-3000:])
        for name, kind, node in self.storage_servers():
            with open(self._storage_conf_path(kind, name), "w") as fh:
                fh.write(self.storage_conf(kind, name, node))
        if self.nodes > 1:
            with open(self.expirer_client_conf, "w") as fh:
                fh.write(self.expirer_client_conf_text())

    @property
    def expirer_client_conf(self):
        """The object expirers' internal client config (several nodes)."""
        return os.path.join(self.etc, "expirer-internal-client.conf")

    def expirer_client_conf_text(self):
        """An internal client as Swift's internal-client.conf-sample, with
        no crypto filters: the expirer lists its queue and sends DELETEs,
        which need no key."""
        filters = ("catch_errors", "proxy-logging", "cache")
        return ("[DEFAULT]\nswift_dir = %s\n\n[pipeline:main]\npipeline = %s proxy-server\n\n"
                "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n"
                % (self.etc, " ".join(filters))) + "".join(
            swift_filter_section(name, {"memcache_servers": self.memcache_servers()}
                                 if name == "cache" else None) for name in filters)

    def _ring_devices(self, kind):
        """RING_SCRIPT's ZONE:PORT:DEVICE list of every node's devices."""
        return ",".join("%d:%d:%s" % (node, self.ports[name], device)
                        for name, k, node in self.storage_servers() if k == kind
                        for device in self.node_device_names(node))

    def _storage_conf_path(self, kind, name):
        if self.nodes == 1:
            return os.path.join(self.etc, "%s-server.conf" % kind)
        return os.path.join(self.etc, "%s-server.conf" % name)

    def _mount_tmpfs(self, target, size):
        os.makedirs(target, exist_ok=True)
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "swiftcrypt-tmpfs",
             target], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterError("mount tmpfs on %s: %s" % (target, proc.stderr))

    def _make_devices(self):
        if self.devices is not None:  # a retried start keeps its tmpfs
            return
        target = os.path.join(self.root, "srv")
        os.makedirs(target, exist_ok=True)
        mounted = False
        if os.geteuid() == 0 and shutil.which("mount"):
            proc = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", "swiftcrypt-tmpfs", target],
                capture_output=True)
            mounted = proc.returncode == 0
        if mounted:
            self._mounted = target
            self.devices = target
        elif os.path.isdir("/dev/shm"):
            self._shm_dir = tempfile.mkdtemp(prefix="swiftcrypt-srv-", dir="/dev/shm")
            self.devices = self._shm_dir
        else:
            raise ClusterError("no tmpfs: cannot mount one and /dev/shm is missing")
        if self.nodes == 1:
            for device in EC_DEVICES:  # d1 serves policy 0 too
                os.makedirs(os.path.join(self.devices, device), exist_ok=True)
            return
        for node in range(1, self.nodes + 1):
            for device in self.node_device_names(node):
                path = self.device_path(node, device)
                if self._mounted:  # a tmpfs of its own, so that it can fail (unmount)
                    self._mount_tmpfs(path, "512m")
                    self._device_mounts.append(path)
                else:
                    os.makedirs(path, exist_ok=True)

    @property
    def syslog_path(self):
        return os.path.join(self.run_dir, "syslog")

    def _start_syslog_sink(self):
        if os.path.exists(self.syslog_path):
            os.unlink(self.syslog_path)
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(self.syslog_path)
        sink.settimeout(0.2)
        stopping = threading.Event()
        path = os.path.join(self.logs, "syslog.log")

        def drain():
            with open(path, "ab") as out:
                while not stopping.is_set():
                    try:
                        line = sink.recv(65536)
                    except socket.timeout:
                        continue
                    out.write(line.rstrip(b"\0\n") + b"\n")
                    out.flush()

        thread = threading.Thread(target=drain, name="syslog-sink", daemon=True)
        thread.start()
        self._sink = (sink, thread, stopping)

    def _common(self, kind, name=None, node=1):
        name = name or kind
        return textwrap.dedent("""\
            [DEFAULT]
            bind_ip = %(host)s
            bind_port = %(port)d
            workers = %(workers)d
            user = %(user)s
            swift_dir = %(etc)s
            devices = %(devices)s
            mount_check = %(mount_check)s
            disable_fallocate = true
            log_name = %(kind)s-server
            log_level = INFO
            recon_cache_path = %(run)s
            eventlet_debug = false
            """) % {
            "host": HOST, "port": self.ports[name], "user": current_user(),
            "etc": self.etc, "devices": self.node_devices(node), "kind": kind,
            # recon caches of the daemons, per node
            "run": self.run_dir if self.nodes == 1 else os.path.join(self.run_dir, "node%d" % node),
            "workers": 1 if kind == "proxy" else 0,
            # with a tmpfs per device, an unmounted one is a failed disk
            "mount_check": "true" if self._device_mounts and kind != "proxy" else "false",
        } + ("log_address = %s\n" % self.syslog_path if self.syslog_sink else "")

    def storage_conf(self, kind, name=None, node=1):
        extra = {
            "container": "allow_versions = true\n",
            # Swift's default allowed_headers plus one of an operator's own,
            # which a rewrite by the rekey tool must keep (test_rekey.py)
            "object": "allowed_headers = Content-Disposition, Content-Encoding, "
                      "X-Delete-At, X-Object-Manifest, X-Static-Large-Object, "
                      "Cache-Control, Content-Language, Expires, X-Robots-Tag, "
                      "%s\n" % CUSTOM_ALLOWED_HEADER,
        }.get(kind, "")
        text = self._common(kind, name, node) + textwrap.dedent("""
            [pipeline:main]
            pipeline = healthcheck recon %(kind)s-server

            [app:%(kind)s-server]
            use = egg:swift#%(kind)s
            %(extra)s
            """) % {"kind": kind, "extra": extra} + "".join(
            swift_filter_section(f) for f in ("healthcheck", "recon"))
        if self.nodes > 1:
            text += self._daemon_sections(kind, node)
        return text

    def _daemon_sections(self, kind, node):
        options = {
            "object-replicator": {"sync_method": "ssync", "concurrency": "2"},
            "object-reconstructor": {"concurrency": "2"},
            "object-updater": {"concurrency": "2"},
            "object-auditor": {"files_per_second": "50", "bytes_per_second": "50000000"},
            # Swift queues expirations in the .expiring_objects account
            # (the "legacy" queue), which a node dequeues only when told to
            "object-expirer": {"internal_client_conf_path": self.expirer_client_conf,
                               "dequeue_from_legacy": "true",
                               "processes": str(self.nodes), "process": str(node - 1)},
        }
        text = ""
        for daemon_kind, _module, section in NODE_DAEMONS:
            if daemon_kind != kind:
                continue
            opts = dict({"interval": str(DAEMON_INTERVAL)}, **options.get(section, {}))
            text += "\n[%s]\n" % section + "".join("%s = %s\n" % o for o in opts.items())
        return text

    def pipeline(self, proxy="proxy"):
        crypto = self.crypto_of(proxy) or Crypto()
        return " ".join([PIPELINE_HEAD] + crypto.filters() + [PIPELINE_TAIL])

    def proxy_conf(self, proxy="proxy"):
        crypto = self.crypto_of(proxy) or Crypto()
        options = {
            "cache": dict({"memcache_servers": self.memcache_servers()}, **(
                # 16 clients on proxies of one worker each, on a loaded host:
                # Swift's default two memcached connections per worker, 1 s
                # pool and 0.3 s connect timeouts made tempauth miss tokens
                # (401 "Timeout getting a connection to memcached")
                {"memcache_max_connections": "16", "pool_timeout": "5",
                 "connect_timeout": "2", "io_timeout": "5"} if len(self.proxy_names) > 1
                else {})),
            "s3api": {"location": "us-east-1"},
            "tempauth": {"user_%s_%s" % (a, u): "%s %s" % (key, groups)
                         for (a, u), (key, groups) in USERS.items()},
            "versioned_writes": {"allow_versioned_writes": "true",
                                 "allow_object_versioning": "true"},
        }
        text = self._common("proxy", proxy) + textwrap.dedent("""
            [pipeline:main]
            pipeline = %(pipeline)s

            [app:proxy-server]
            use = egg:swift#proxy
            allow_account_management = true
            account_autocreate = true
            node_timeout = 20
            conn_timeout = 2

            """) % {"pipeline": self.pipeline(proxy)}
        text += "".join(swift_filter_section(name, options.get(name)) for name in PROXY_FILTERS)
        return text + crypto.sections() + (self.proxy_conf_extra or "")

    # ----------------------------------------------------------- processes
    def _spawn(self, name, argv):
        log = open(os.path.join(self.logs, "%s.log" % name), "ab")
        try:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.root, env=self.env)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def _start_memcached(self):
        argv = [ensure_memcached(), "-l", HOST, "-p", str(self.ports["memcached"]),
                "-U", "0", "-m", "64"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        self._spawn("memcached", argv)
        self._wait_memcached()

    def python_argv(self, module, *args):
        """argv running ``module.main()`` with ``args`` in a Python that
        sees this cluster's swift.conf (storage policies included)."""
        return [self.python, "-c", BOOT_SCRIPT, REPO_ROOT, self.swift_conf,
                module] + list(args)

    def _start_server(self, kind, name=None):
        name = name or kind
        if kind == "proxy":
            conf = self.proxy_conf_path(name)
        else:
            conf = self._storage_conf_path(kind, name)
        module = {"account": "swift.account.server", "container": "swift.container.server",
                  "object": "swift.obj.server", "proxy": "swift.proxy.server"}[kind]
        if kind == "proxy":  # a program file, so that it can re-exec itself (SIGUSR1)
            self._spawn(name, [self._launcher(module), conf, "--verbose"])
        else:
            self._spawn(name, self.python_argv(module, conf, "--verbose"))

    def _launcher(self, module):
        """An executable script running ``module.main()`` as python_argv
        does. Swift's proxy reloads seamlessly (SIGUSR1) by exec'ing its
        own ``sys.argv[0]``, which must therefore be a program file."""
        path = os.path.join(self.root, "bin", module)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write("#!%s\n" % sys.executable + LAUNCHER_SCRIPT % {
                "root": REPO_ROOT, "swift_conf": self.swift_conf, "module": module})
        os.chmod(path, 0o755)
        return path

    def run_daemon(self, name, options=None, sections="", timeout=DAEMON_TIMEOUT):
        """Run Swift's daemon ``name`` (see DAEMONS) once over this cluster's
        devices and rings and return what it logged.

        Its config, etc/<name>.conf, is the [DEFAULT] of the server it
        belongs to, a [<name>] section of ``options`` and then ``sections``
        (text: e.g. the internal client's pipeline, for daemons that read it
        from their own file). ClusterError if it exits non-zero or runs past
        ``timeout`` seconds."""
        server, module = DAEMONS[name]
        path = os.path.join(self.etc, "%s.conf" % name)
        with open(path, "w") as fh:
            fh.write(self._common(server).replace(
                "log_name = %s-server" % server, "log_name = %s" % name))
            fh.write("\n[%s]\n" % name)
            fh.write("".join("%s = %s\n" % item for item in (options or {}).items()))
            fh.write("\n" + sections)
        # --verbose: Swift then logs to stderr as well, where we read it
        argv = self.python_argv(module, path, "--verbose", "--once")
        try:
            proc = subprocess.run(argv, capture_output=True, text=True,
                                  timeout=timeout, cwd=self.root, env=self.env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise ClusterError("%s --once still running after %ss" % (name, exc.timeout))
        output = proc.stdout + proc.stderr
        with open(os.path.join(self.logs, "%s.log" % name), "a") as fh:
            fh.write(output)
        if proc.returncode != 0:
            raise ClusterError("%s --once exited with %s:\n%s"
                               % (name, proc.returncode, output[-3000:]))
        return output

    def reload_proxy_seamless(self, proxy="proxy"):
        """SIGUSR1 to the proxy (``swift-init proxy reload-seamless``): it
        re-execs itself, loading its pipeline again, and keeps its pid."""
        proc = self.procs[proxy]
        before = os.path.getsize(os.path.join(self.logs, "%s.log" % proxy))
        os.kill(proc.pid, signal.SIGUSR1)
        return before

    def _stop_proc(self, name):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=15)
        else:
            # the leader is gone; workers of its group may not be
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def log_tail(self, name, lines=60):
        path = os.path.join(self.logs, "%s.log" % name)
        try:
            with open(path, "rb") as fh:
                data = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])

    def _check_alive(self, name):
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is not None:
            tail = self.log_tail(name)
            if self.syslog_sink:  # what it logged (e.g. "Could not bind") is there
                tail += "\nsyslog tail:\n" + self.log_tail("syslog", 20)
            raise ClusterError("%s exited with %s; log tail:\n%s"
                               % (name, proc.returncode, tail))

    def _wait_healthy(self, name="proxy"):
        """Until ``name`` answers GET /healthcheck with 200 (a foreign
        listener on a port we picked never does)."""
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while True:
            self._check_alive(name)
            try:
                conn = http.client.HTTPConnection(HOST, self.ports[name], timeout=5)
                conn.request("GET", "/healthcheck")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200 and body == b"OK":
                    return
                last = "%s %r" % (resp.status, body[:200])
            except (OSError, http.client.HTTPException) as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise ClusterError("%s not healthy (%s); log tail:\n%s"
                                   % (name, last, self.log_tail(name)))
            time.sleep(0.1)

    def _wait_memcached(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive("memcached")
            try:
                with socket.create_connection((HOST, self.ports["memcached"]), timeout=2) as sock:
                    sock.sendall(b"version\r\n")
                    if sock.recv(100).startswith(b"VERSION"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ClusterError("memcached not answering on port %d; log tail:\n%s"
                                   % (self.ports["memcached"], self.log_tail("memcached")))
            time.sleep(0.1)

    # ------------------------------------------------------------- at rest
    def object_data_files(self):
        """Paths of every object server .data file."""
        pattern = os.path.join(self._device_glob(), "objects*", "**", "*.data")
        return sorted(glob.glob(pattern, recursive=True))

    def object_meta_files(self):
        """Paths of every .data and .meta file (POSTed metadata lands in .meta)."""
        pattern = os.path.join(self._device_glob(), "objects*", "**", "*")
        return sorted(p for p in glob.glob(pattern, recursive=True)
                      if p.endswith((".data", ".meta", ".ts")))

    def _device_glob(self):
        """A glob matching every device directory of every node."""
        if self.nodes == 1:
            return os.path.join(self.devices, "*")
        return os.path.join(self.devices, "node*", "*")

    @staticmethod
    def raw_xattrs(path):
        """{name: bytes} of every xattr of ``path``."""
        return {name: os.getxattr(path, name) for name in os.listxattr(path)}

    def func_test_conf(self):
        """A test.conf for Swift's functional tests against this cluster."""
        return textwrap.dedent("""\
            [func_test]
            auth_uri = %(url)s/auth/v1.0
            account = test
            username = tester
            password = testing
            account2 = test2
            username2 = tester2
            password2 = testing2
            username3 = tester3
            password3 = testing3
            s3_access_key = test:tester
            s3_secret_key = testing
            s3_access_key2 = test:tester2
            s3_secret_key2 = testing2
            s3_access_key3 = test:tester3
            s3_secret_key3 = testing3
            collate = C
            insecure = no
            storage_domain =

            [unit_test]
            fake_syslog = False
            """) % {"url": self.url}
