"""The event loop ``swiftcrypt serve`` runs: eventlet's WSGI server with
Swift's proxy limits (client timeout, max clients, backlog, open files), a
deadline for each request's headers, and a graceful stop on SIGTERM/SIGINT."""

import logging
import resource
import signal
import socket
import time
import warnings

from swiftcrypt.cli.serveconfig import StartupError

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

log = logging.getLogger("swiftcrypt.server")


def import_eventlet():
    """eventlet and eventlet.wsgi, imported without their own warnings."""
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


def listen(eventlet, host, port):
    """A listening socket on ``host:port``; one-line StartupError if not."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return eventlet.listen((host.strip("[]"), port), family=family, backlog=BACKLOG)
    except OSError as err:
        raise StartupError("cannot listen on %s:%d: %s" % (host, port, err.strerror or err)) \
            from None



def run_until_signal(eventlet, sock, app, client_timeout=DEFAULT_CLIENT_TIMEOUT,
                      header_timeout=DEFAULT_HEADER_TIMEOUT, clients=MAX_CLIENTS):
    """Serve ``app`` on ``sock`` until SIGTERM or SIGINT, then let requests
    in flight finish (up to SHUTDOWN_GRACE_SECONDS); 0."""
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

