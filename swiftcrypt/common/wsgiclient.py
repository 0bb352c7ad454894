"""Call a WSGI app in-process, as an internal client does: no sockets,
bodies streamed both ways."""

import io
import sys

from swiftcrypt.common.environ import header_key
from swiftcrypt.common.swiftpath import str_to_wsgi
from swiftcrypt.common.wsgicontext import call_app


class Response:
    """Status, headers and the (lazily iterated) body of one call, over
    wsgicontext's AppResponse.

    Iterate ``body()`` once or call ``close()``; either way the app's
    iterator is closed.
    """

    def __init__(self, app_response, environ):
        self.status = app_response.status_int
        self.reason = app_response.status
        self.headers = app_response.headers
        self.environ = environ  # as the app left it (callbacks included)
        self._resp = app_response
        self._closed = False

    def header(self, name, default=None):
        """The value of header ``name`` (case-insensitive)."""
        return self._resp.header(name, default)

    def body(self):
        """Yield the body's chunks, then close the app's iterator."""
        try:
            yield from self._resp.app_iter
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
            self._resp.close()


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
    return Response(call_app(app, env), env)
