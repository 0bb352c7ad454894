"""Where ``swiftcrypt serve`` keeps the root secret it generates.

Outside the data dir, so that the natural backup of the data dir does not
carry the key beside the ciphertext (doc/security.md: that would be a
plaintext backup): ``--secret-file``, else ``$SWIFTCRYPT_SECRET_FILE``,
else ``$XDG_CONFIG_HOME/swiftcrypt/keymaster.conf`` (``~/.config/...``
when XDG_CONFIG_HOME is unset). One user's secret serves all of its data
dirs (keys are derived per account, container and object path).

Earlier versions kept it at ``<data dir>/keymaster.conf``; a secret found
there, or a data dir that already holds data while no secret exists,
stops start-up with a message, never a silently generated new secret
(under which the stored data could not be read).
"""

import os

SECRET_FILE_ENV = "SWIFTCRYPT_SECRET_FILE"
FILE_NAME = "keymaster.conf"
OLD_FILE_NAME = FILE_NAME  # <data dir>/keymaster.conf, before the secret moved out


def default_path(environ=None):
    """``$XDG_CONFIG_HOME/swiftcrypt/keymaster.conf``, XDG_CONFIG_HOME
    defaulting to ``~/.config``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "swiftcrypt", FILE_NAME)


def choose(arg, environ=None):
    """The secret file: ``arg`` (--secret-file), else ``$SWIFTCRYPT_SECRET_FILE``,
    else default_path(); absolute."""
    environ = os.environ if environ is None else environ
    return os.path.abspath(arg or environ.get(SECRET_FILE_ENV) or default_path(environ))


def old_path(data_dir):
    """Where earlier versions generated the secret."""
    return os.path.join(data_dir, OLD_FILE_NAME)


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _holds_data(data_dir, ignore):
    try:
        with os.scandir(data_dir) as entries:
            return any(not _same(entry.path, ignore) for entry in entries)
    except FileNotFoundError:
        return False


def refusal(path, data_dir):
    """Why ``serve`` must not use (or generate) the secret file ``path``
    for ``data_dir``, as one line; None when it may."""
    old = old_path(data_dir)
    if os.path.exists(old) and not _same(old, path):
        if os.path.exists(path):
            return ("two root secrets: %s (where earlier versions kept it) and %s; serve "
                    "will not guess which one the data was written with: keep that one "
                    "(--secret-file names it) and remove the other" % (old, path))
        return ("the root secret is in the data dir, at %s, where earlier versions kept "
                "it; serve now keeps it outside, so that a backup of the data dir does not "
                "carry the key: move it (mkdir -p -m 700 %s && mv %s %s) or pass "
                "--secret-file %s" % (old, os.path.dirname(path), old, path, old))
    if not os.path.exists(path) and _holds_data(data_dir, old):
        return ("data dir %s already holds data but there is no root secret at %s; a new "
                "one could not read that data: pass --secret-file (or $%s) naming the "
                "secret it was written with" % (data_dir, path, SECRET_FILE_ENV))
    return None


def inside(path, data_dir):
    """True if ``path`` lies under ``data_dir`` (a backup of it would
    carry the key)."""
    real_dir = os.path.realpath(data_dir)
    return os.path.realpath(path).startswith(real_dir.rstrip(os.sep) + os.sep)
