"""Calling a WSGI app in-process with as little client overhead as we can."""

import io


class BodyReader:
    """``wsgi.input`` over a bytes object: each read returns a fresh bytes
    (as a socket read does), never more than ``limit`` bytes in all."""

    __slots__ = ("_view", "_pos", "_end")

    def __init__(self, data, limit=None):
        self._view = memoryview(data)
        self._pos = 0
        self._end = len(data) if limit is None else limit

    def read(self, size=-1):
        pos = self._pos
        end = self._end if size is None or size < 0 else min(self._end, pos + size)
        self._pos = end
        return bytes(self._view[pos:end])

    def readline(self, size=-1):
        return self.read(size)


class RepeatReader:
    """``wsgi.input`` of ``length`` bytes made by repeating ``block``:
    streams any size with memory of one block."""

    __slots__ = ("_block", "_left")

    def __init__(self, block, length):
        self._block = block
        self._left = length

    def read(self, size=-1):
        n = min(self._left, len(self._block) if size is None or size < 0 else size)
        self._left -= n
        return self._block if n == len(self._block) else self._block[:n]


def environ(method, path, body=None, length=0, headers=None, query=""):
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body if body is not None else io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if method in ("PUT", "POST"):
        env["CONTENT_LENGTH"] = str(length)
        env["CONTENT_TYPE"] = "application/octet-stream"
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(app, env):
    """Run one request to completion: ``(status, headers, body length, body or None)``.

    ``env["bench.keep_body"]`` keeps the body bytes (for checks); otherwise
    the body is only counted.
    """
    captured = []

    def start_response(status, headers, exc_info=None):
        captured[:] = [status, headers]
        return None

    keep = env.pop("bench.keep_body", False)
    app_iter = app(env, start_response)
    total = 0
    parts = [] if keep else None
    try:
        for chunk in app_iter:
            total += len(chunk)
            if keep:
                parts.append(chunk)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return captured[0], captured[1], total, (b"".join(parts) if keep else None)


def put(app, path, data, length=None, headers=None):
    length = len(data) if length is None else length
    reader = BodyReader(data, length) if isinstance(data, (bytes, bytearray, memoryview)) \
        else data
    status, hdrs, _n, _b = call(app, environ("PUT", path, reader, length, headers))
    return status, hdrs


def get(app, path, keep=False, query=""):
    env = environ("GET", path, query=query)
    env["bench.keep_body"] = keep
    return call(app, env)
