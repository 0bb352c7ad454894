"""Reading filter options, including options kept in a separate file.

A keymaster's secrets may live in ``keymaster_config_path`` (a file readable
only by the proxy user) rather than in the proxy config. Giving the same
options in both places is refused: which one wins would be a guess.
"""

import configparser
import logging
import os
import stat

from swiftcrypt.common.errors import ConfigError

TRUE_VALUES = ("true", "1", "yes", "on", "t", "y")
FALSE_VALUES = ("false", "0", "no", "off", "f", "n", "")

log = logging.getLogger("swiftcrypt.options")


def is_true(value):
    """How Swift reads a flag another middleware put in the environ: True,
    or a string naming truth ("false" is false, not a non-empty string)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_VALUES)


def secret_id_of(option, base):
    """The secret id an option names by its suffix: ``base`` -> None (the
    unnamed secret), ``base_<id>`` -> ``"<id>"``, anything else False."""
    if option == base:
        return None
    prefix = base + "_"
    if option.startswith(prefix) and len(option) > len(prefix):
        return option[len(prefix):]
    return False


def as_bool(conf, option, default=False):
    """Read a boolean option; an unrecognised value is a ConfigError."""
    value = conf.get(option)
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ConfigError(option, "expected true or false, got %r" % value)


def as_number(conf, option, default, minimum=0, kind=float):
    """Read a number option that must be at least ``minimum``."""
    value = conf.get(option)
    if value is None or str(value).strip() == "":
        return default
    try:
        number = kind(str(value).strip())
    except ValueError:
        raise ConfigError(option, "expected a number, got %r" % value) from None
    if number != number:  # NaN
        raise ConfigError(option, "expected a number, got %r" % value)
    if number < minimum:
        raise ConfigError(option, "must be at least %s, got %r" % (minimum, value))
    return number


class ConfigFileError(Exception):
    """A config file that cannot be read (``strerror`` from the OS) or
    parsed (``detail``: the first line of the parser's message, which may
    quote a line of the file: callers decide whether to show it). The
    message is one line that quotes nothing from the file."""

    def __init__(self, path, strerror=None, detail=None):
        self.path, self.strerror, self.detail = path, strerror, detail
        super().__init__("cannot read %s: %s" % (path, strerror) if strerror is not None
                         else "%s is not a valid config file" % path)


def read_config_file(path, parser=None):
    """``path`` read into ``parser`` (default: a ConfigParser without
    interpolation, as Swift's and paste's files are read); ConfigFileError
    if it cannot be read or is not valid."""
    if parser is None:
        parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except OSError as err:
        raise ConfigFileError(path, strerror=err.strerror) from err
    except configparser.Error as err:
        raise ConfigFileError(path, detail=str(err).splitlines()[0]) from None
    return parser


def group_or_world_readable(path):
    """True if ``path`` grants any access to group or others."""
    return bool(os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def load_with_config_path(conf, section, is_own_option):
    """Return the options for a keymaster, from ``keymaster_config_path``
    when it is set, else from ``conf`` itself.

    ``is_own_option(name)`` says which names belong in that file; any of
    them also present in ``conf`` is a ConfigError.
    """
    path = conf.get("keymaster_config_path")
    if not path:
        return dict(conf)
    clashing = sorted(name for name in conf if is_own_option(name))
    if clashing:
        raise ConfigError(
            "keymaster_config_path",
            "is set, so %s must be given only in %s" % (", ".join(clashing), path),
        )
    try:
        parser = read_config_file(path)
    except ConfigFileError as err:
        # the message quotes no line of the file: it may hold a secret
        raise ConfigError("keymaster_config_path", str(err)) from err.__cause__
    if not parser.has_section(section):
        raise ConfigError("keymaster_config_path", "%s has no [%s] section" % (path, section))
    if group_or_world_readable(path):
        log.warning(
            "keymaster_config_path %s is accessible by group or others; "
            "it holds root secret material and should be mode 0600", path)
    merged = {k: v for k, v in conf.items() if not is_own_option(k)}
    merged.update(parser.items(section))
    return merged
