"""The parts of a WSGI request the store's handlers use."""

from urllib.parse import parse_qsl

from swiftcrypt.store.headers import request_headers


class BadQuery(Exception):
    """The query string is not UTF-8 form data."""


class Request:
    """A request to the store: method, names, headers, query."""

    def __init__(self, environ, account, container, obj):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.account = account
        self.container = container
        self.obj = obj
        self.headers = request_headers(environ)
        self._query = None

    @property
    def query(self):
        """The query parameters as real text; BadQuery if not UTF-8."""
        if self._query is None:
            raw = self.environ.get("QUERY_STRING", "")
            try:
                self._query = dict(parse_qsl(raw, keep_blank_values=True,
                                             encoding="utf-8", errors="strict"))
            except UnicodeDecodeError:
                raise BadQuery("query string is not valid UTF-8") from None
        return self._query

    @property
    def path(self):
        """The WSGI PATH_INFO, for log messages."""
        return self.environ.get("PATH_INFO", "")
