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
