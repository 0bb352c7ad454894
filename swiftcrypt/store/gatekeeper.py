"""A gatekeeper for the standalone pipeline, like Swift's ``gatekeeper``.

In a Swift proxy, gatekeeper stops clients from sending or seeing
system metadata and backend headers. The standalone pipeline talks to the
store directly, so without this a client could forge
``X-Object-Sysmeta-Crypto-*`` values or ``X-Backend-Etag-Is-At`` and would
see the ciphertext bookkeeping in responses; and it could set the
``X-Timestamp`` that the store trusts from internal tools. It goes first in
the pipeline.
"""

_REQUEST_PREFIXES = (
    "x-account-sysmeta-", "x-container-sysmeta-", "x-object-sysmeta-",
    "x-object-transient-sysmeta-", "x-backend-",
)
_RESPONSE_PREFIXES = _REQUEST_PREFIXES
# A PUT's X-Timestamp is honoured by the store (objects.py) for internal
# tools that must lose to any later client write; a client must not pick
# its own timestamp.
_REQUEST_EXACT = ("HTTP_X_TIMESTAMP",)


def _env_name(prefix):
    return "HTTP_" + prefix.upper().replace("-", "_")


_REQUEST_ENV_PREFIXES = tuple(_env_name(p) for p in _REQUEST_PREFIXES)


def blocked_response_header(name):
    """True for headers a client must not see."""
    return name.lower().startswith(_RESPONSE_PREFIXES)


class GateKeeper:
    """Strip internal headers (and X-Timestamp) from client requests and
    internal headers from responses."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        for key in [k for k in environ
                    if k.startswith(_REQUEST_ENV_PREFIXES) or k in _REQUEST_EXACT]:
            del environ[key]

        def filtered_start_response(status, headers, exc_info=None):
            kept = [(n, v) for n, v in headers if not blocked_response_header(n)]
            return start_response(status, kept, exc_info)

        return self.app(environ, filtered_start_response)


def filter_factory(global_conf, **local_conf):
    """Paste filter factory (``paste.filter_factory =
    swiftcrypt.store.gatekeeper:filter_factory``)."""
    return GateKeeper
