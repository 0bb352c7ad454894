"""Root secrets handed across a proxy's seamless reload, in memory only.

Swift's proxy reloads seamlessly by re-executing itself (SIGUSR1,
``swift-init reload-seamless``): the new program loads the pipeline
again, so ``kms_keymaster`` fetches its root secrets again, and with
Barbican down the reload would fail and the proxy would stop serving.

So each successful fetch is published in an anonymous in-memory file
(``memfd_create``, Linux) whose descriptor is left open across exec and
named in the environment (``SWIFTCRYPT_KMS_HANDOVER_FD``). The reloaded
program, finding Barbican unreachable (never when Barbican answers that
a secret is gone or refused), takes the secrets it had from there.

The trade-off, chosen deliberately: nothing is ever written to a disk (a
last-known-good file would keep root secrets in plaintext at rest, or
under a key kept beside them, which is the same). The memory file is as
private as the process's heap: its owner (and root, through /proc) can
read it, and children the proxy execs inherit it as they inherit its
memory. A fresh start (no handover: ``swift-init start``/``restart``, a
host reboot) still needs Barbican and fails fast without it.
"""

import base64
import json
import os

ENV = "SWIFTCRYPT_KMS_HANDOVER_FD"
_MAGIC = "swiftcrypt-kms-handover-1"


def supported():
    return hasattr(os, "memfd_create")


def _scope_key(scope, key_id):
    return "%s %s" % (scope, key_id)


def _read(fd):
    try:
        data = os.pread(fd, 1 << 20, 0)
        doc = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("magic") != _MAGIC:
        return {}
    secrets = doc.get("secrets")
    return secrets if isinstance(secrets, dict) else {}


def _current_fd(environ):
    value = environ.get(ENV, "")
    try:
        fd = int(value)
        os.fstat(fd)
        return fd
    except (ValueError, OSError):
        return None


def publish(scope, secrets, environ=None):
    """Add ``{key id: bytes}`` fetched from key manager ``scope`` (its
    endpoint and project) to what a re-executed program will find."""
    if not supported() or not secrets:
        return
    environ = os.environ if environ is None else environ
    old = _current_fd(environ)
    merged = _read(old) if old is not None else {}
    for key_id, payload in secrets.items():
        merged[_scope_key(scope, key_id)] = base64.b64encode(payload).decode("ascii")
    data = json.dumps({"magic": _MAGIC, "secrets": merged}).encode("utf-8")
    fd = os.memfd_create("swiftcrypt-kms-handover", 0)  # no MFD_CLOEXEC: kept across exec
    try:
        os.write(fd, data)
        os.set_inheritable(fd, True)
    except OSError:
        os.close(fd)
        return
    environ[ENV] = str(fd)
    if old is not None and old != fd:
        try:
            os.close(old)
        except OSError:
            pass


def take(scope, key_ids, environ=None):
    """``{key id: bytes}`` for every id in ``key_ids`` handed over from
    the program before a re-exec (ids it did not have are left out)."""
    environ = os.environ if environ is None else environ
    fd = _current_fd(environ)
    if fd is None:
        return {}
    found = _read(fd)
    taken = {}
    for key_id in key_ids:
        value = found.get(_scope_key(scope, key_id))
        if value is not None:
            try:
                taken[key_id] = base64.b64decode(value, validate=True)
            except ValueError:
                continue
    return taken
