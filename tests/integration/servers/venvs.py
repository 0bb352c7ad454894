"""Virtualenvs for the external servers the integration tests run.

Barbican, Keystone and Swift are separate processes, never dependencies of
swiftcrypt, so each gets its own virtualenv, installed from the package
registries with pip the first time it is needed and cached under
``${SWIFTCRYPT_CACHE:-~/.cache/swiftcrypt}/venvs``.

A venv's directory name carries a hash of its requirements and of the
Python it is built with (the running one, or the interpreter given as
``python``, e.g. an older Python from pyenv for an older Swift), so changing
a pin builds a new one. A venv counts
as ready only once its install finished and its smoke check passed (a
``.ready`` marker); a broken or half-built one is rebuilt. An exclusive file
lock serialises concurrent builders (pytest-xdist workers, two test runs).

    from tests.integration.servers import venvs
    venv = venvs.ensure("barbican", ["barbican==23.0.0", "gunicorn"],
                        check=["-c", "import barbican.api.app"])
    venv.bin("gunicorn")  # absolute path of a console script
    old = venvs.ensure("swift-2.27.0", ["swift==2.27.0"],
                       python=venvs.pyenv_python("3.9"))

Failures raise ``VenvError`` with the tail of pip's output: the tests that
need the server must fail, not skip.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

INSTALL_TIMEOUT = 1200  # seconds for one pip install (cold: ~30-60 s here)


class VenvError(RuntimeError):
    """A server virtualenv could not be built or fails its check."""


def cache_dir():
    """``$SWIFTCRYPT_CACHE`` or ``~/.cache/swiftcrypt``, created."""
    root = os.environ.get("SWIFTCRYPT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "swiftcrypt")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Venv:
    """A ready virtualenv."""

    def __init__(self, path):
        self.path = Path(path)

    @property
    def python(self):
        return str(self.path / "bin" / "python")

    def bin(self, name):
        """Absolute path of console script ``name`` in this venv."""
        return str(self.path / "bin" / name)

    def site_file(self, *parts):
        """A file shipped in the venv's data dir (``<venv>/etc/...``)."""
        return str(self.path.joinpath(*parts))

    def __repr__(self):
        return "<Venv %s>" % self.path


def _fingerprint(requirements, python=None, key=""):
    if python is None:
        head = [sys.version, sys.executable]
    else:
        head = [_run([python, "-c", "import sys; print(sys.version)"],
                     "asking %s its version" % python, timeout=60).strip(), python]
    text = "\n".join(head + ([key] if key else []) + sorted(requirements))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pyenv_python(minor):
    """The newest pyenv-installed CPython ``minor`` (e.g. "3.9"), else
    ``python<minor>`` on PATH; VenvError if neither exists."""
    root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    if shutil.which("pyenv"):
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                  timeout=30, check=True).stdout.strip() or root
        except (subprocess.SubprocessError, OSError):
            pass
    found = []
    versions = os.path.join(root, "versions")
    for name in os.listdir(versions) if os.path.isdir(versions) else ():
        parts = name.split(".")
        python = os.path.join(versions, name, "bin", "python")
        if ".".join(parts[:2]) == minor and len(parts) == 3 and parts[2].isdigit() \
                and os.access(python, os.X_OK):
            found.append((int(parts[2]), python))
    if found:
        return max(found)[1]
    on_path = shutil.which("python" + minor)
    if on_path:
        return on_path
    raise VenvError("no Python %s: neither in pyenv (%s) nor python%s on PATH"
                    % (minor, versions, minor))


def _run(cmd, what, timeout=INSTALL_TIMEOUT):
    try:
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise VenvError("%s: timed out after %ss" % (what, timeout)) from err
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
        raise VenvError("%s failed (exit %d):\n%s" % (what, proc.returncode, tail))
    return proc.stdout


def _check(venv, check):
    if not check:
        return True
    try:
        subprocess.run([venv.python] + list(check), check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (subprocess.SubprocessError, OSError):
        return False
    return True


def ensure(name, requirements, check=None, python=None, key=""):
    """Return a ready ``Venv`` holding ``requirements``, building it if needed.

    ``check`` is an argument list for the venv's python (e.g. ``["-c",
    "import keystone"]``) that must succeed for the venv to be used.
    ``python``: the interpreter to build it with (default: the running one).
    ``key``: anything else the venv depends on (e.g. a hash of the setup.py
    of a project installed with ``-e``): a new key builds a new venv.
    """
    root = cache_dir() / "venvs"
    root.mkdir(parents=True, exist_ok=True)
    path = root / ("%s-%s" % (name, _fingerprint(requirements, python, key)))
    venv = Venv(path)
    ready = path / ".ready"
    with open(root / (".%s.lock" % path.name), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists() and _check(venv, check):
            return venv
        if path.exists():
            shutil.rmtree(path)
        started = time.monotonic()
        _run([python or sys.executable, "-m", "venv", str(path)],
             "creating venv %s" % path)
        _run([venv.python, "-m", "pip", "install", "-q", "--upgrade", "pip"],
             "upgrading pip in %s" % path)
        _run([venv.python, "-m", "pip", "install", "-q"] + list(requirements),
             "pip install %s into %s" % (" ".join(requirements), path))
        if not _check(venv, check):
            raise VenvError("venv %s was built but its check %r fails" % (path, check))
        ready.write_text("built in %.0f s\n%s\n" % (
            time.monotonic() - started, "\n".join(requirements)))
        return venv
