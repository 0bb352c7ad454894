"""The HTTP protocol ``swiftcrypt serve`` speaks: eventlet's, except that a
request sent without a Content-Type header has an empty ``CONTENT_TYPE``.

eventlet fills a missing Content-Type with the email package's default,
``text/plain``, so every upload without one was stored as text/plain. With
the header left empty the store guesses the type from the object's name,
as a Swift cluster does (``image/jpeg`` for ``cat.jpg``). Import this only
after eventlet is imported (``server._import_eventlet``).
"""

import http.client

from eventlet import wsgi


class RequestHeaders(http.client.HTTPMessage):
    """Request headers whose content type, when none was sent, is empty
    instead of ``text/plain``."""

    def get_default_type(self):
        return ""


class HttpProtocol(wsgi.HttpProtocol):
    """eventlet's protocol, parsing headers into RequestHeaders."""

    MessageClass = RequestHeaders
