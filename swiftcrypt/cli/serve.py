"""``swiftcrypt serve``: run a paste pipeline under eventlet's WSGI server.

With no ``--config`` it serves the embedded pipeline (``etc/standalone.conf``:
gatekeeper, copy, keymaster, encryption, store). On first run it generates the
root secret (mode 0600), outside the data dir (see secretfile), and says
where.
"""

import argparse
import logging
import os
import re
import sys

from swiftcrypt.cli import exitcodes, prefork, secretfile
from swiftcrypt.cli.accesslog import AccessLog
from swiftcrypt.cli.serveconfig import (
    DATA_DIR_ENV,
    StartupError,
    authorizing_filters,
    check_private,
    choose_data_dir,
    is_loopback,
    keymaster_files,
    load_app,
    load_contexts,
    operator_settings,
    read_paste_config,
    resolve_data_dir,
)
from swiftcrypt.cli.wsgiserver import (
    DEFAULT_CLIENT_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    import_eventlet,
    listen,
    max_clients,
    monkey_patch,
    raise_open_files_limit,
    run_until_signal,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

log = logging.getLogger("swiftcrypt.server")


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



def _setup_logging():
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)



def run(args):
    """Serve until SIGTERM/SIGINT; 0 on clean shutdown, 2 on bad config."""
    try:
        return _serve(args)
    except StartupError as err:
        sys.stderr.write("swiftcrypt: error: %s\n" % err)
        return exitcodes.USAGE


def _serve(args):
    eventlet = import_eventlet()
    monkey_patch(eventlet)
    config_path = os.path.abspath(args.config) if args.config else default_config_path()
    data_dir, generated, global_conf = _settings(args, config_path)
    contexts = load_contexts(config_path, global_conf)
    _check_exposure(args, config_path, contexts)
    try:
        workers = prefork.parse_workers(args.workers)
    except ValueError as err:
        raise StartupError(str(err)) from None
    resolve_data_dir(data_dir)
    sys.stderr.write("swiftcrypt: data dir %s\n" % data_dir)
    _prepare_secrets(keymaster_files(contexts), generated, data_dir)
    _setup_logging()
    timeouts = (args.client_timeout, args.header_timeout,
                max_clients(raise_open_files_limit()))
    if workers == 1:
        app = AccessLog(load_app(config_path, global_conf))
        sock = listen(eventlet, args.host, args.port)
        _say_serving(config_path, sock)
        return run_until_signal(eventlet, sock, app, *timeouts)
    return _serve_workers(eventlet, args, workers, config_path, global_conf, timeouts)


def _settings(args, config_path):
    """``(data_dir, generated secret file, global_conf)`` from the config,
    the command line and the environment; StartupError when they clash."""
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
    return data_dir, generated, {"data_dir": data_dir, "keymaster_config_path": keymaster_path}


def _check_exposure(args, config_path, contexts):
    """Refuse a non-loopback address for a pipeline that authorizes nothing."""
    if (not is_loopback(args.host) and not args.allow_unauthenticated
            and not authorizing_filters(contexts)):
        raise StartupError(
            "refusing to listen on %s: the pipeline in %s has no tempauth or keystoneauth "
            "filter; listen on a loopback address, add one, or pass --allow-unauthenticated"
            % (args.host, config_path))


def _prepare_secrets(paths, generated, data_dir):
    """Check every file a keymaster will read as its keymaster_config_path,
    however the config names it; the generated one is created first if it
    is used."""
    for path in paths:
        if path == generated:
            refusal = secretfile.refusal(generated, data_dir)
            if refusal:
                raise StartupError(refusal)
            if secretfile.inside(generated, data_dir):
                sys.stderr.write("swiftcrypt: warning: the root secret %s is inside the data "
                                 "dir: a backup of the data dir carries the key\n" % generated)
            if secretfile.ensure_root_secret(generated):
                sys.stderr.write(
                    "swiftcrypt: generated a new root secret in %s (mode 0600); back it up, "
                    "apart from the data dir: without it the stored data cannot be "
                    "decrypted\n" % generated)
        check_private(path)


def _serve_workers(eventlet, args, workers, config_path, global_conf, timeouts):
    """Listen, then fork ``workers`` processes that serve the socket."""
    sock = listen(eventlet, args.host, args.port)

    def worker(report):
        eventlet.hubs.use_hub()  # a hub of its own, never the parent's epoll
        try:
            app = AccessLog(load_app(config_path, global_conf))
        except StartupError as err:
            report(str(err))
            return 2
        report(None)
        return run_until_signal(eventlet, sock, app, *timeouts)

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

