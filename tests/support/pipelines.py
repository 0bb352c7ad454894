"""swiftcrypt's keymaster and encryption filters in-process, as a proxy
pipeline has them, and a one-line request helper for tests that drive them.
"""

from webob import Request

from swiftcrypt.middleware.encryption import filter_factory as encryption_factory
from swiftcrypt.keymasters.config_keymaster import filter_factory as keymaster_factory

OBJECT_PATH = "/v1/a/c/o"


def encrypting_pipeline(backend, keymaster_conf, **encryption_conf):
    """keymaster (``keymaster_conf``) -> encryption (``encryption_conf``)
    -> ``backend``."""
    encryption = encryption_factory({}, **encryption_conf)(backend)
    return keymaster_factory({}, **keymaster_conf)(encryption)


def call(app, path=OBJECT_PATH, method="GET", body=None, headers=None, **environ):
    """One request to ``app``; ``environ`` adds WSGI environ entries."""
    req = Request.blank(path, method=method, headers=headers or {}, environ=environ)
    if body is not None:
        req.body = body
    return req.get_response(app)
