"""Account, container and object names from a request path."""

from swiftcrypt.common.swiftpath import split_wsgi_path

API_VERSION = "v1"
MAX_ACCOUNT_NAME_BYTES = 256
MAX_CONTAINER_NAME_BYTES = 256
MAX_OBJECT_NAME_BYTES = 1024


class BadName(Exception):
    """The request path cannot name a Swift item; ``status`` says how to answer."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _text(wsgi_value, what):
    raw = wsgi_value.encode("latin-1")
    if b"\x00" in raw:
        raise BadName(412, "%s name contains a NUL byte" % what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadName(412, "%s name is not valid UTF-8" % what) from None


def parse_path(path_info):
    """Split a WSGI ``PATH_INFO`` into real-text ``(account, container, obj)``.

    Missing levels are None. Raises BadName for paths that are not
    ``/v1/<account>[/<container>[/<object>]]``, names that are not UTF-8
    or contain NUL (412, as Swift answers), and names over Swift's length
    limits (400).
    """
    parts = split_wsgi_path(path_info or "")
    if parts is None:
        raise BadName(400, "path must be /v1/<account>[/<container>[/<object>]]")
    version, account, container, obj = parts
    if version != API_VERSION:
        raise BadName(400, "unsupported API version %r; use /v1/" % version[:16])
    names = []
    for value, what, limit in (
        (account, "account", MAX_ACCOUNT_NAME_BYTES),
        (container, "container", MAX_CONTAINER_NAME_BYTES),
        (obj, "object", MAX_OBJECT_NAME_BYTES),
    ):
        if value is None:
            names.append(None)
            continue
        if len(value) > limit:  # a WSGI string has one code point per byte
            raise BadName(400, "%s name is longer than %d bytes" % (what, limit))
        names.append(_text(value, what))
    return tuple(names)
