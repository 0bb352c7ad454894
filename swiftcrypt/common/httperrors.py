"""Error responses the filters give, and errors they raise mid-request.

A footers callback runs inside the backend's (or Swift proxy's) PUT
handling, so a refusal there must be an exception that handler knows how
to answer with: Swift's swob HTTP exceptions inside a Swift proxy, webob's
elsewhere. Both are WSGI apps with a ``status_int``.
"""

from http.client import responses


def respond(start_response, status, body, extra_headers=()):
    """Send a short text/plain response; returns the WSGI body."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    start_response(
        "%d %s" % (status, responses.get(status, "")),
        [("Content-Type", "text/plain; charset=UTF-8"),
         ("Content-Length", str(len(data)))] + list(extra_headers),
    )
    return [data]


def error_exception(status, body):
    """An exception that is also a WSGI response with ``status``."""
    try:
        from swift.common import swob
    except ImportError:  # no swift: standalone
        swob = None
    if swob is not None:
        return swob.status_map[status](
            body=body.encode("utf-8"), content_type="text/plain")
    import webob.exc

    cls = webob.exc.status_map[status]
    return cls(body=body.encode("utf-8"), content_type="text/plain", charset=None)
