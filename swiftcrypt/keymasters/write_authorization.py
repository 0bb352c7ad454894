"""``swift.authorize`` called by a keymaster, as Swift's proxy would call
it for a write (after every middleware), so that a write it will deny never
creates an account secret and gets that denial rather than a key error."""


def _request_class():
    try:
        from swift.common.swob import Request
    except ImportError:
        from webob import Request
    return Request


def _write_acl(app, environ):
    """The container's write ACL as Swift's proxy sets ``req.acl`` for an
    object write (from its container info, cached in the environ), or
    None outside Swift or if it cannot be had."""
    try:
        from swift.proxy.controllers.base import get_container_info
    except ImportError:
        return None
    try:
        return get_container_info(environ, app, swift_source="AKM").get("write_acl")
    except Exception:  # a denial without the ACL is still a denial
        return None


class Authorization:
    """``swift.authorize`` for one request, called at most once, as Swift's
    proxy calls it for an object write (after every middleware): with a
    swob Request (webob outside Swift) whose ``acl`` is the write ACL."""

    def __init__(self, app, environ, with_acl=True):
        self.app = app
        self.environ = environ
        self.with_acl = with_acl
        self._done = False
        self._denial = None

    def denial(self):
        """The authorize callback's denial response, or None (allowed, or
        no authorize callback in the pipeline)."""
        if not self._done:
            self._done = True
            authorize = self.environ.get("swift.authorize")
            if authorize is not None:
                req = _request_class()(self.environ)
                req.acl = _write_acl(self.app, self.environ) if self.with_acl else None
                self._denial = authorize(req)
        return self._denial

    def allowed(self):
        return self.denial() is None
