"""Small WSGI response helpers shared by the store's handlers."""

import email.utils
import math
from http import HTTPStatus

_EXTRA_REASONS = {499: "Client Disconnect"}


def status_line(code):
    """``"404 Not Found"`` for 404."""
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = _EXTRA_REASONS.get(code, "Unknown")
    return "%d %s" % (code, reason)


def respond(start_response, code, headers=(), body=b"", head=False):
    """Send a complete response; ``head`` keeps Content-Length, drops the body."""
    headers = list(headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    start_response(status_line(code), headers)
    return [] if head else [body]


def error(start_response, code, reason, head=False):
    """A plain-text error response whose body says why."""
    body = (reason + "\n").encode("utf-8")
    return respond(start_response, code, [("Content-Type", "text/plain; charset=utf-8")],
                   body, head=head)


def http_date(timestamp):
    """``Last-Modified`` value for a timestamp (rounded up to whole seconds,
    as Swift does, so If-Modified-Since with that value matches)."""
    return email.utils.formatdate(math.ceil(float(timestamp)), usegmt=True)


def as_http_exception(exc):
    """``exc`` if it is an HTTP error response (webob's HTTPException, or
    anything with an integer ``status_int`` that is callable as a WSGI app,
    like Swift's swob exceptions), else None."""
    try:
        import webob.exc
    except ImportError:  # pragma: no cover - webob is a dependency
        webob = None
    if webob is not None and isinstance(exc, webob.exc.HTTPException):
        return exc
    if isinstance(getattr(exc, "status_int", None), int) and callable(exc):
        return exc
    return None


class ClosingIter:
    """An app_iter over ``chunks`` that closes ``resource`` when done."""

    def __init__(self, chunks, resource):
        self._chunks = chunks
        self._resource = resource

    def __iter__(self):
        return iter(self._chunks)

    def close(self):
        """Close the generator and the resource (the WSGI server calls this)."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        self._resource.close()
