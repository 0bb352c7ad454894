"""A keymaster filter (ours or Swift's) run once in front of an app that
captures the environ it passes on, so tests can take the keys callback
the keymaster installed there."""

import io

CALLBACK = "swift.callback.fetch_crypto_keys"


class Capture:
    """A WSGI app that records the environ it was called with."""

    def __init__(self):
        self.environ = None

    def __call__(self, environ, start_response):
        self.environ = environ
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]


def environ(path_info, method="GET", **extra):
    """A minimal WSGI environ for ``path_info``, plus ``extra`` entries."""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost:80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    env.update(extra)
    return env


def passed_on(factory, conf, path_info, method="GET", **extra):
    """The environ the keymaster made by ``factory({}, **conf)`` passes on
    for one request to ``path_info``."""
    app = Capture()
    km = factory({}, **conf)(app)
    list(km(environ(path_info, method, **extra), lambda *a, **kw: None))
    assert app.environ is not None
    return app.environ
