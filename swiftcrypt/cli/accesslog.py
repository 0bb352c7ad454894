"""The access log ``swiftcrypt serve`` writes: one line per request
(logger ``swiftcrypt.access``), never a header value or a query string."""

import logging
import time
from urllib.parse import quote

access_log = logging.getLogger("swiftcrypt.access")


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

