"""The checks ``swiftcrypt serve`` makes before it listens: the paste
config it is given (readable, which stages authorize, which keymaster files
they read, the values the operator set), the data dir and the root
secret's file mode. Each problem is one StartupError line for the operator.
"""

import configparser
import ipaddress
import os
import socket

from swiftcrypt.common import options
from swiftcrypt.common.errors import ConfigError

DATA_DIR_ENV = "SWIFTCRYPT_DATA_DIR"
# Filters known to authorize every request (they set swift.authorize and
# deny what it refuses), recognised by the module of the factory paste
# resolves for them, whatever their section is called. authtoken alone
# only validates tokens (it passes anonymous requests on), so it is not one.
AUTHORIZING_MODULES = (
    "swift.common.middleware.tempauth",
    "swift.common.middleware.keystoneauth",
)
# Keymasters that read a keymaster_config_path file: ours and Swift's.
KEYMASTER_MODULES = (
    "swiftcrypt.keymasters.config_keymaster",
    "swiftcrypt.keymasters.kms_keymaster",
    "swiftcrypt.keymasters.account_keymaster",
    "swift.common.middleware.crypto.keymaster",
    "swift.common.middleware.crypto.kms_keymaster",
    "swift.common.middleware.crypto.kmip_keymaster",
)
# The values `serve` supplies to the config (see etc/standalone.conf).
SERVE_OPTIONS = ("data_dir", "keymaster_config_path")


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""



def read_paste_config(path):
    """The config file as a raw ConfigParser (no interpolation)."""
    try:
        return options.read_config_file(path, configparser.RawConfigParser(strict=False))
    except options.ConfigFileError as err:
        if err.strerror is not None:
            raise StartupError("cannot read config %s: %s" % (path, err.strerror)) from None
        raise StartupError("config %s is not valid: %s" % (path, err.detail)) from None


def stage_contexts(context):
    """The paste contexts of a loaded config's stages: a pipeline's
    filters then its app, or the one app."""
    if getattr(context, "filter_contexts", None) is None:
        return [context]
    return list(context.filter_contexts) + [context.app_context]


def authorizing_filters(contexts):
    """The stages (paste contexts) whose factory is a filter known to
    authorize every request (AUTHORIZING_MODULES)."""
    return [c for c in contexts
            if getattr(c.object, "__module__", None) in AUTHORIZING_MODULES]


def effective_option(context, name):
    """The value of option ``name`` the stage's factory is given: what it
    reads from ``dict(global_conf, **local_conf)``, as ours and Swift's do."""
    return dict(context.global_conf, **context.local_conf).get(name)


def keymaster_files(contexts):
    """The ``keymaster_config_path`` files the pipeline's keymasters will
    read, however the config names them (a plain line, ``set``, [DEFAULT]
    or serve's value)."""
    return sorted({path for path in (effective_option(c, "keymaster_config_path")
                                     for c in contexts
                                     if getattr(c.object, "__module__", None)
                                     in KEYMASTER_MODULES) if path})


def operator_settings(config_path):
    """``{name: (value, section)}`` for the SERVE_OPTIONS the config sets
    itself (a plain line or [DEFAULT]; for data_dir a ``set`` line too), so that `serve`
    passes that value on instead of its own: paste lets a global override a
    section's plain line, which would otherwise be silently ignored.
    StartupError when one name has different values, or a value `serve`
    cannot resolve."""
    try:
        parser = options.read_config_file(
            config_path, configparser.RawConfigParser(strict=False, default_section="\0"))
    except options.ConfigFileError:  # read_paste_config said why already
        return {}
    here = os.path.dirname(config_path)
    found = {}
    for section in parser.sections():
        for option, raw in parser.items(section):
            set_line = option.startswith("set ")
            name = option[4:].strip() if set_line else option
            # a `set` line reaches its own section's factory already; only
            # the data dir's matters to serve itself (the generated secret)
            if name not in SERVE_OPTIONS or raw is None or (set_line and name != "data_dir"):
                continue
            value = raw.strip().replace("%(here)s", here).replace("%(__file__)s", config_path)
            if value == "%%(%s)s" % name:
                continue  # takes the value serve supplies
            if "%(" in value:
                raise StartupError("config %s: [%s] %s = %s: serve cannot resolve that "
                                   "substitution; write the path itself"
                                   % (config_path, section, name, raw.strip()))
            if name == "data_dir":
                if not value:
                    continue  # the store refuses it, naming the option
                value = os.path.abspath(value)
            earlier = found.get(name)
            if earlier is not None and earlier[0] != value:
                raise StartupError(
                    "config %s sets %s to %s in [%s] and to %s in [%s]; serve can "
                    "pass only one: make them the same"
                    % (config_path, name, earlier[0], earlier[1], value, section))
            found[name] = (value, section)
    return found


def is_loopback(host):
    """True if every address ``host`` names is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)



def check_private(path):
    """Refuse a keymaster config that group or others can access."""
    try:
        exposed = options.group_or_world_readable(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise StartupError("cannot stat %s: %s" % (path, err.strerror)) from None
    if exposed:
        mode = os.stat(path).st_mode & 0o777
        raise StartupError(
            "keymaster config %s is accessible by group or others (mode %04o); "
            "it holds the root secret: chmod 600 it" % (path, mode))


def choose_data_dir(arg, configured, config_path):
    """The data dir: the config's own ``data_dir`` (``configured``:
    ``(path, section)`` or None), ``--data-dir``, ``$SWIFTCRYPT_DATA_DIR``,
    else ``./data``. StartupError when the config and the command line or
    environment name different ones."""
    given = arg or os.environ.get(DATA_DIR_ENV)
    if configured is None:
        return os.path.abspath(given or "data")
    path, section = configured
    if given and os.path.abspath(given) != path:
        raise StartupError(
            "config %s sets data_dir = %s in [%s], but %s is %s: drop one"
            % (config_path, path, section, "--data-dir" if arg else "$" + DATA_DIR_ENV,
               os.path.abspath(given)))
    return path


def resolve_data_dir(data_dir):
    """Create ``data_dir`` (0700) if it does not exist; its absolute path."""
    data_dir = os.path.abspath(data_dir)
    try:
        os.makedirs(data_dir, mode=0o700, exist_ok=True)
    except OSError as err:
        raise StartupError("cannot create data dir %s: %s" % (data_dir, err.strerror)) from None
    return data_dir

def load_app(config_path, global_conf):
    """Load the paste pipeline; one-line StartupError on any config problem."""
    from paste.deploy import loadapp
    return _paste(loadapp, config_path, global_conf)


def load_contexts(config_path, global_conf):
    """The paste contexts of the served stages (nothing is created: the
    factories are found, not called); one-line StartupError on a problem."""
    from paste.deploy.loadwsgi import APP, loadcontext
    return stage_contexts(_paste(lambda uri, global_conf: loadcontext(
        APP, uri, global_conf=global_conf), config_path, global_conf))


def _paste(load, config_path, global_conf):
    try:
        return load("config:" + os.path.abspath(config_path), global_conf=global_conf)
    except ConfigError as err:
        raise StartupError(str(err)) from None
    except (LookupError, ImportError, ValueError, OSError, configparser.Error) as err:
        message = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise StartupError("cannot load %s: %s" % (config_path, message)) from None

