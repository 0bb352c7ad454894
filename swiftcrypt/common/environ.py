"""Request headers as the WSGI environ holds them."""


def header_key(name):
    """``X-Object-Meta-Color`` -> ``HTTP_X_OBJECT_META_COLOR``."""
    upper = name.upper().replace("-", "_")
    if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return upper
    return "HTTP_" + upper


def header_name(key):
    """``HTTP_X_OBJECT_META_COLOR`` -> ``X-Object-Meta-Color``."""
    return "-".join(word.capitalize() for word in key[5:].split("_"))


def headers_with_prefix(environ, prefix):
    """``(environ key, header name, value)`` of request headers whose name
    starts with ``prefix`` (case-insensitive)."""
    key_prefix = header_key(prefix)
    return [
        (key, header_name(key), value)
        for key, value in list(environ.items())
        if key.startswith(key_prefix)
    ]


def request_headers(environ):
    """All request headers as ``(name, value)`` pairs."""
    pairs = []
    for key, value in environ.items():
        if value is None:  # no header (keystonemiddleware sets some keys to None)
            continue
        if key.startswith("HTTP_"):
            pairs.append((header_name(key), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            pairs.append((key.replace("_", "-").title(), value))
    return pairs


def strip_etag(value):
    """Remove surrounding quotes (and a weak marker) from an etag."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def parse_etag_list(value):
    """Split an If-Match style header into bare etags (``*`` kept)."""
    return [strip_etag(part) for part in value.split(",") if part.strip()]


class CaseInsensitive:
    """Get/set helpers for dict-like headers that may not fold case."""

    @staticmethod
    def get(mapping, name, default=None):
        lname = name.lower()
        for key in mapping.keys():
            if key.lower() == lname:
                return mapping[key]
        return default

    @staticmethod
    def set(mapping, name, value):
        lname = name.lower()
        for key in [k for k in mapping.keys() if k.lower() == lname]:
            del mapping[key]
        mapping[name] = value
