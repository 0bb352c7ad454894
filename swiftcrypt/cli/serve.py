"""``swiftcrypt serve``: run a paste pipeline under eventlet's WSGI server.

With no ``--config`` it serves the embedded pipeline (``etc/standalone.conf``:
gatekeeper, copy, keymaster, encryption, store). On first run it generates the
root secret (mode 0600), outside the data dir (see secretfile), and says
where.
"""

import argparse
import base64
import configparser
import ipaddress
import logging
import os
import re
import resource
import signal
import socket
import sys
import time
import warnings
from urllib.parse import quote

from swiftcrypt.cli import exitcodes

from swiftcrypt.common import options

from swiftcrypt.cli import prefork

from swiftcrypt.cli import secretfile
from swiftcrypt.common.errors import ConfigError
from swiftcrypt.crypto.derivation import ROOT_SECRET_BYTES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DATA_DIR_ENV = "SWIFTCRYPT_DATA_DIR"
SHUTDOWN_GRACE_SECONDS = 10
# Swift's proxy: client_timeout (default 60) is the socket timeout for every
# read from and write to a client; max_clients (1024) greenthreads serve a
# worker's connections; swift-init raises the open-files limit to 32768.
DEFAULT_CLIENT_TIMEOUT = 60.0
# Not in Swift: the time a client has for a request's line and headers, so
# that connections trickling bytes cannot hold every greenthread forever.
DEFAULT_HEADER_TIMEOUT = 30.0
MAX_CLIENTS = 1024
BACKLOG = 4096  # Swift's default: a burst of connections waits, never retries its SYN
OPEN_FILES = 32768
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

log = logging.getLogger("swiftcrypt.server")
access_log = logging.getLogger("swiftcrypt.access")


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""


def default_config_path():
    """The embedded pipeline: ``etc/standalone.conf`` beside the package
    (a clone or editable install), else where setup.py's data_files put it
    (``<prefix>/share/swiftcrypt/etc``) in a regular install."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    beside = os.path.join(os.path.dirname(package), "etc", "standalone.conf")
    if os.path.exists(beside):
        return beside
    return os.path.join(sys.prefix, "share", "swiftcrypt", "etc", "standalone.conf")


def configure(parser):
    """Add the ``serve`` options."""
    parser.epilog = exitcodes.epilog(
        "For serve: 0 after a clean shutdown on SIGTERM or SIGINT; 2 when start-up is "
        "refused (one line says why).")
    parser.add_argument("--config", metavar="FILE",
                        help="paste config to serve (default: the embedded pipeline)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port to listen on; 0 picks a free one (default %(default)s)")
    parser.add_argument("--workers", default="1", metavar="N",
                        help="worker processes serving the port: a number, or 'auto' for "
                             "one per CPU (default 1), as Swift's proxy `workers`")
    parser.add_argument("--client-timeout", type=_seconds, default=DEFAULT_CLIENT_TIMEOUT,
                        metavar="SECONDS",
                        help="close a connection whose client sends or receives nothing for "
                             "this long, as Swift's proxy client_timeout (default %(default)g)")
    parser.add_argument("--header-timeout", type=_seconds, default=DEFAULT_HEADER_TIMEOUT,
                        metavar="SECONDS",
                        help="close a connection that has not sent a whole request line and "
                             "headers this long after it opened or after the previous "
                             "response, so that slow clients cannot hold the server "
                             "(default %(default)g)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where the store keeps its data (default: the config's own "
                             "data_dir line, else $%s, else ./data)" % DATA_DIR_ENV)
    parser.add_argument("--secret-file", metavar="FILE",
                        help="the keymaster config holding the root secret, generated "
                             "(mode 0600) on first run; keep it out of the data dir and "
                             "back it up separately (default $%s, else "
                             "$XDG_CONFIG_HOME/swiftcrypt/keymaster.conf, i.e. "
                             "~/.config/swiftcrypt/keymaster.conf)" % secretfile.SECRET_FILE_ENV)
    parser.add_argument("--allow-unauthenticated", action="store_true",
                        help="listen on a non-loopback address although the pipeline has "
                             "no tempauth or keystoneauth filter: whoever can reach the "
                             "port can then read and write everything, unless your "
                             "pipeline authenticates in a way serve does not recognise")


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("%r is not a positive number of seconds" % text)
    return value


# -- pure checks -----------------------------------------------------------

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


# -- side effects ----------------------------------------------------------

def ensure_root_secret(path):
    """Create the keymaster config with a fresh root secret unless it
    exists; True if it was created. Created 0600 in one step (O_EXCL) so
    the secret is never readable by anyone else, not even briefly."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as err:
        raise StartupError("cannot create root secret file %s: %s"
                           % (path, err.strerror)) from None
    secret = base64.b64encode(os.urandom(ROOT_SECRET_BYTES)).decode("ascii")
    with os.fdopen(fd, "w") as f:
        f.write("# Generated by `swiftcrypt serve`. Losing this secret loses the data;\n"
                "# anyone holding it can decrypt the data. Keep it mode 0600.\n"
                "[keymaster]\nencryption_root_secret = %s\n" % secret)
        f.flush()
        os.fsync(f.fileno())
    return True


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


def _import_eventlet():
    # eventlet warns about its own deprecation on import; that is not news
    # for the operator and would break "one line per problem" output.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import eventlet
        import eventlet.wsgi
    return eventlet


def monkey_patch(eventlet):
    """Green sockets, select and sleep so one process serves many clients.

    ``thread`` is deliberately not patched: the encryption filter may hash
    in real OS threads through ``eventlet.tpool``, and the store's SQLite
    lock must be a real lock. Regular file I/O blocks the hub briefly, as
    in Swift's own servers.
    """
    eventlet.monkey_patch(all=False, socket=True, select=True, time=True)


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


def _printable(text):
    return quote(text.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")


class AccessLog:
    """One log line per request: client, method, path, status, response
    bytes, seconds. Never a header value or the query string (either may
    carry credentials)."""

    def __init__(self, app):
        self.app = app
        self.active = 0

    def __call__(self, environ, start_response):
        started = time.monotonic()
        state = {"status": "-"}
        _drop_invented_content_type(environ)

        def logging_start_response(status, headers, exc_info=None):
            state["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        self.active += 1
        try:
            body = self.app(environ, logging_start_response)
        except BaseException:
            state["status"] = "500"
            self._done(environ, state, 0, started)
            raise
        return _CountingIter(body, lambda sent: self._done(environ, state, sent, started))

    def _done(self, environ, state, sent, started):
        self.active -= 1
        access_log.info("%s %s %s %s %d %.4fs",
                        environ.get("REMOTE_ADDR", "-"),
                        _printable(environ.get("REQUEST_METHOD", "-"))[:16],
                        _printable(environ.get("PATH_INFO", "")),
                        state["status"], sent, time.monotonic() - started)


def _drop_invented_content_type(environ):
    """Forget the ``text/plain`` eventlet fills in for a request that sent
    no Content-Type: the store, as Swift's proxy, guesses an object's type
    from its name only when the client gave none."""
    raw = environ.get("headers_raw")
    if raw is not None and "CONTENT_TYPE" in environ \
            and not any(name.lower() == "content-type" for name, _value in raw):
        del environ["CONTENT_TYPE"]


class _CountingIter:
    def __init__(self, body, on_close):
        self._body = body
        self._on_close = on_close
        self._sent = 0
        self._closed = False

    def __iter__(self):
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close(self._sent)


def _setup_logging():
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def raise_open_files_limit(wanted=OPEN_FILES):
    """Raise the soft limit on open files towards ``wanted`` (as far as the
    hard limit allows) and return it: every client connection takes one
    or two (its socket, the object file it reads), and running out makes
    eventlet's accept loop, and so the server, stop."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return wanted if soft == resource.RLIM_INFINITY else soft


def max_clients(open_files):
    """Connections served at once: Swift's max_clients, fewer if the
    open-files limit could not hold two descriptors for each (and some to
    spare for the store's own files)."""
    return max(1, min(MAX_CLIENTS, (open_files - 64) // 2))


def header_deadline_protocol(eventlet, header_timeout):
    """eventlet's HTTP protocol with a deadline for each request's line and
    headers (eventlet's socket_timeout only bounds each read, so a client
    sending a byte now and then would hold its greenthread forever)."""

    class DeadlineProtocol(eventlet.wsgi.HttpProtocol):
        _deadline = None

        def handle_one_request(self):
            self._deadline = eventlet.Timeout(header_timeout)
            try:
                super().handle_one_request()
            except eventlet.Timeout as timeout:
                if timeout is not self._deadline:
                    raise
                self.close_connection = 1
            finally:
                self._deadline.cancel()

        def get_environ(self, *args, **kwargs):
            self._deadline.cancel()  # the headers are in: the app may take its time
            return super().get_environ(*args, **kwargs)

    return DeadlineProtocol


def _listen(eventlet, host, port):
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return eventlet.listen((host.strip("[]"), port), family=family, backlog=BACKLOG)
    except OSError as err:
        raise StartupError("cannot listen on %s:%d: %s" % (host, port, err.strerror or err)) \
            from None


def run(args):
    """Serve until SIGTERM/SIGINT; 0 on clean shutdown, 2 on bad config."""
    try:
        return _serve(args)
    except StartupError as err:
        sys.stderr.write("swiftcrypt: error: %s\n" % err)
        return exitcodes.USAGE


def _serve(args):
    eventlet = _import_eventlet()
    monkey_patch(eventlet)
    config_path = os.path.abspath(args.config) if args.config else default_config_path()
    if not os.path.exists(config_path):
        raise StartupError("config %s does not exist" % config_path)
    read_paste_config(config_path)
    settings = operator_settings(config_path)
    data_dir = choose_data_dir(args.data_dir, settings.get("data_dir"), config_path)
    generated = secretfile.choose(args.secret_file)
    configured = settings.get("keymaster_config_path")
    if configured is not None and args.secret_file and \
            os.path.abspath(configured[0]) != generated:
        raise StartupError("config %s sets keymaster_config_path = %s in [%s], but "
                           "--secret-file is %s: drop one"
                           % (config_path, configured[0], configured[1], generated))
    keymaster_path = configured[0] if configured is not None else generated
    global_conf = {"data_dir": data_dir, "keymaster_config_path": keymaster_path}
    contexts = load_contexts(config_path, global_conf)
    if (not is_loopback(args.host) and not args.allow_unauthenticated
            and not authorizing_filters(contexts)):
        raise StartupError(
            "refusing to listen on %s: the pipeline in %s has no tempauth or keystoneauth "
            "filter; listen on a loopback address, add one, or pass --allow-unauthenticated"
            % (args.host, config_path))
    try:
        workers = prefork.parse_workers(args.workers)
    except ValueError as err:
        raise StartupError(str(err)) from None
    resolve_data_dir(data_dir)
    sys.stderr.write("swiftcrypt: data dir %s\n" % data_dir)
    # every file a keymaster will read as its keymaster_config_path, however
    # the config names it; the generated one is created first if it is used
    for path in keymaster_files(contexts):
        if path == generated:
            refusal = secretfile.refusal(generated, data_dir)
            if refusal:
                raise StartupError(refusal)
            if secretfile.inside(generated, data_dir):
                sys.stderr.write("swiftcrypt: warning: the root secret %s is inside the data "
                                 "dir: a backup of the data dir carries the key\n" % generated)
            if ensure_root_secret(generated):
                sys.stderr.write(
                    "swiftcrypt: generated a new root secret in %s (mode 0600); back it up, "
                    "apart from the data dir: without it the stored data cannot be "
                    "decrypted\n" % generated)
        check_private(path)
    _setup_logging()
    timeouts = (args.client_timeout, args.header_timeout,
                max_clients(raise_open_files_limit()))
    if workers == 1:
        app = AccessLog(load_app(config_path, global_conf))
        sock = _listen(eventlet, args.host, args.port)
        _say_serving(config_path, sock)
        return _run_until_signal(eventlet, sock, app, *timeouts)
    sock = _listen(eventlet, args.host, args.port)

    def worker(report):
        eventlet.hubs.use_hub()  # a hub of its own, never the parent's epoll
        try:
            app = AccessLog(load_app(config_path, global_conf))
        except StartupError as err:
            report(str(err))
            return 2
        report(None)
        return _run_until_signal(eventlet, sock, app, *timeouts)

    from eventlet import patcher
    supervisor = prefork.Supervisor(workers, worker, log, patcher.original("time").sleep)
    error = supervisor.start()
    if error is not None:
        raise StartupError(error)
    _say_serving(config_path, sock, workers)
    return supervisor.run()


_SERVING_LINE = re.compile(r"serving .* on (http://\S+?)/?$")


def serving_url(line):
    """The URL in the line ``serve`` writes once it listens (see
    _say_serving), or None for any other line: for tools and tests that
    start ``swiftcrypt serve --port 0``."""
    match = _SERVING_LINE.search(line.strip())
    return match.group(1) if match else None


def _say_serving(config_path, sock, workers=1):
    host, port = sock.getsockname()[:2]
    sys.stderr.write("swiftcrypt: serving %s%s on http://%s:%d/\n" % (
        config_path, "" if workers == 1 else " with %d workers" % workers,
        "[%s]" % host if ":" in host else host, port))
    sys.stderr.flush()


def _run_until_signal(eventlet, sock, app, client_timeout=DEFAULT_CLIENT_TIMEOUT,
                      header_timeout=DEFAULT_HEADER_TIMEOUT, clients=MAX_CLIENTS):
    stop = []

    def on_signal(signum, _frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    quiet = logging.getLogger("swiftcrypt.wsgi")  # eventlet's own access lines are INFO
    quiet.setLevel(logging.WARNING)
    pool = eventlet.GreenPool(clients)
    server = eventlet.spawn(eventlet.wsgi.server, sock, app, custom_pool=pool, log=quiet,
                            debug=False, socket_timeout=client_timeout,
                            protocol=header_deadline_protocol(eventlet, header_timeout))
    # Poll for the signal: a handler only sets a flag, and a short sleep
    # lets the hub notice it even when no client is talking to us.
    while not stop and not server.dead:
        eventlet.sleep(0.1)
    server.kill()
    sock.close()
    deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
    while app.active > 0 and time.monotonic() < deadline:
        eventlet.sleep(0.05)  # let requests in flight finish; idle keep-alives are dropped
    log.info("shutting down on signal %s", stop[0] if stop else "-")
    return 0
