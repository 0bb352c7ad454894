"""Calling the next WSGI app and holding its response for rewriting.

A filter that must see (and change) the status and headers before passing
them on calls ``call_app``; it handles apps that only call
``start_response`` once their body iterator is first advanced.
"""

import itertools


class AppResponse:
    """Status, headers and body iterator of a called app."""

    __slots__ = ("status", "headers", "exc_info", "app_iter")

    def __init__(self, status, headers, exc_info, app_iter):
        self.status = status
        self.headers = headers
        self.exc_info = exc_info
        self.app_iter = app_iter

    @property
    def status_int(self):
        return int(self.status.split(" ", 1)[0])

    @property
    def is_success(self):
        return 200 <= self.status_int < 300

    def header(self, name, default=None):
        """First value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def set_header(self, name, value):
        """Replace every ``name`` header by one with ``value``."""
        self.remove_header(name)
        self.headers.append((name, value))

    def remove_header(self, name):
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]

    def close(self):
        """Close the body iterator, as WSGI requires of its consumer."""
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            close()

    def send(self, start_response):
        """Pass the (possibly rewritten) response on; returns the body."""
        start_response(self.status, self.headers, self.exc_info)
        return self.app_iter


def call_app(app, environ):
    """Call ``app`` and return an AppResponse once its headers are known."""
    captured = []

    def start_response(status, headers, exc_info=None):
        captured[:] = [status, list(headers), exc_info]
        return _no_write

    app_iter = app(environ, start_response)
    if not captured:
        # Lazy app: advance its body until it has started the response.
        iterator = iter(app_iter)
        first = []
        for chunk in iterator:
            first.append(chunk)
            if captured:
                break
        app_iter = ClosingChain(first, iterator, app_iter)
    if not captured:  # its body ended without a response: a broken app
        return AppResponse("500 Internal Server Error", [], None, app_iter)
    return AppResponse(captured[0], captured[1], captured[2], app_iter)


def _no_write(data):
    raise RuntimeError("write() callable is not supported by swiftcrypt filters")


class ClosingChain:
    """Iterate ``head`` then ``rest``; close ``original`` when closed."""

    def __init__(self, head, rest, original):
        self._iter = itertools.chain(head, rest)
        self._original = original

    def __iter__(self):
        return self._iter

    def close(self):
        close = getattr(self._original, "close", None)
        if close is not None:
            close()
