"""Swift request paths: WSGI strings, real text, and /v1/a/c/o parts."""


def wsgi_to_str(value):
    """WSGI string (latin-1 code points standing for bytes) -> real text.

    Raises UnicodeDecodeError when the bytes are not UTF-8.
    """
    return value.encode("latin-1").decode("utf-8")


def str_to_wsgi(value):
    """Real text -> WSGI string."""
    return value.encode("utf-8").decode("latin-1")


def split_wsgi_path(path_info):
    """Split a WSGI ``PATH_INFO`` into ``(version, account, container, obj)``.

    The parts are WSGI strings; missing levels are None. Returns None when
    the path is not a Swift account, container or object path.
    """
    if not path_info.startswith("/"):
        return None
    segments = path_info[1:].split("/", 3)
    if len(segments) < 2 or not segments[0] or not segments[1]:
        return None
    version, account = segments[0], segments[1]
    container = segments[2] if len(segments) > 2 else None
    obj = segments[3] if len(segments) > 3 else None
    if container == "":
        if obj:  # "/v1/a//o" is not a Swift path
            return None
        container = None
    if obj == "":
        obj = None
    return version, account, container, obj


def split_path(path_info):
    """Like split_wsgi_path but with real text parts.

    Returns None for non-Swift paths and for paths that are not UTF-8:
    those are not ours to encrypt or decrypt.
    """
    parts = split_wsgi_path(path_info)
    if parts is None or path_info.isascii():  # ASCII is its own UTF-8
        return parts
    try:
        return tuple(None if p is None else wsgi_to_str(p) for p in parts)
    except UnicodeDecodeError:
        return None


PARTS_KEY = "swiftcrypt.path_parts"


def request_parts(environ):
    """split_path of the request's ``PATH_INFO``, split once per request.

    The keymaster, encrypter and decrypter all need the parts: the first
    to ask stores them in the environ beside the path they came from, so
    a filter between ours that rewrites ``PATH_INFO`` gets a fresh split.
    """
    path_info = environ.get("PATH_INFO", "")
    cached = environ.get(PARTS_KEY)
    if cached is not None and cached[0] == path_info:
        return cached[1]
    parts = split_path(path_info)
    environ[PARTS_KEY] = (path_info, parts)
    return parts
