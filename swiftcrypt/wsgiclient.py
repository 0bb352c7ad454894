"""Call a WSGI app in-process, as an internal client does: no sockets,
bodies streamed both ways."""

import io
import sys

from swiftcrypt.environ import header_key
from swiftcrypt.swiftpath import str_to_wsgi


class Response:
    """Status, headers and the (lazily iterated) body of one call.

    Iterate ``body()`` once or call ``close()``; either way the app's
    iterator is closed.
    """

    def __init__(self, status, headers, first, app_iter, iterator, environ):
        self.status = int(status.split(" ", 1)[0])
        self.reason = status
        self.headers = headers
        self.environ = environ  # as the app left it (callbacks included)
        self._first = first  # chunks already taken from ``iterator``
        self._app_iter = app_iter
        self._it = iterator
        self._closed = False

    def header(self, name, default=None):
        """The value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return default

    def body(self):
        """Yield the body's chunks, then close the app's iterator."""
        try:
            yield from self._first
            self._first = []
            if self._it is None:
                self._it = iter(self._app_iter)
            yield from self._it
        finally:
            self.close()

    def read(self, limit=65536):
        """The whole body as bytes, at most ``limit`` bytes kept (for error
        messages and listings)."""
        out = bytearray()
        for chunk in self.body():
            if len(out) < limit:
                out += chunk[:limit - len(out)]
        return bytes(out)

    def close(self):
        """Close the app's iterator (WSGI requires it)."""
        if not self._closed:
            self._closed = True
            close = getattr(self._app_iter, "close", None)
            if close is not None:
                close()


class IterReader:
    """A file-like ``wsgi.input`` over an iterator of byte chunks."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, size=-1):
        """Up to ``size`` bytes (all that is left when negative)."""
        if size is None or size < 0:
            data = self._buf + b"".join(self._chunks)
            self._buf = b""
            return data
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return b""
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def readline(self, size=-1):
        """Not line-aware: bodies here are binary (some servers call it)."""
        return self.read(size)


def call(app, method, path, headers=(), query="", body=None, environ=None):
    """Call ``app`` and return a Response once it has started responding.

    ``path`` is real text (``/v1/a/c/o``); ``body`` a file-like or None;
    ``environ`` extra environ keys (e.g. ``swift.crypto.override``); the
    environ dict used is kept as ``response.environ``.
    """
    env = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": str_to_wsgi(path),
        "QUERY_STRING": query, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": body if body is not None else io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
    }
    if body is None:
        env["CONTENT_LENGTH"] = "0"
    for name, value in headers:
        env[header_key(name)] = value
    env.update(environ or {})
    started = []

    def start_response(status, response_headers, exc_info=None):
        started[:] = [status, list(response_headers)]

    app_iter = app(env, start_response)
    first, iterator = [], None
    if not started:
        # some apps start responding only once iterated
        iterator = iter(app_iter)
        for chunk in iterator:
            first.append(chunk)
            if started:
                break
    status, response_headers = started or ("500 Internal Server Error", [])
    return Response(status, response_headers, first, app_iter, iterator, env)
