"""An in-memory stand-in for what sits behind the proxy's crypto filters.

It speaks just enough of the object-server contract for the filters to do
their real work: a PUT reads ``wsgi.input`` in ``chunk_size`` reads (as
Swift's proxy reads the client), calls ``swift.callback.update_footers``
with a footers dict, stores request sysmeta plus footers and answers with
the stored Etag; a GET returns the stored headers and the stored chunks;
a container GET returns a JSON listing. No MD5 of its own unless
``verify`` (the object server's check of the footer Etag, which in a real
cluster runs in another process): the bare backend should cost ~nothing.
"""

import itertools
import json

from swiftcrypt.common.checksums import md5

FOOTERS_CALLBACK = "swift.callback.update_footers"
_STORED_PREFIXES = ("HTTP_X_OBJECT_SYSMETA_", "HTTP_X_OBJECT_TRANSIENT_SYSMETA_",
                    "HTTP_X_OBJECT_META_")
_counter = itertools.count(1)


def _header_name(key):
    return "-".join(word.capitalize() for word in key[5:].split("_"))


class StoredObject:
    __slots__ = ("headers", "chunks", "length")

    def __init__(self, headers, chunks, length):
        self.headers = headers
        self.chunks = chunks
        self.length = length


class MemoryBackend:
    """WSGI app; ``objects`` maps PATH_INFO to a StoredObject.

    ``keep=False`` discards PUT bodies (streaming tests); ``listings`` maps
    a container path to the JSON bytes a container GET returns.
    """

    def __init__(self, chunk_size=65536, keep=True, verify=False):
        self.chunk_size = chunk_size
        self.keep = keep
        self.verify = verify
        self.objects = {}
        self.listings = {}

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"]
        if path in self.listings and method == "GET":
            body = self.listings[path]
            start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if method == "PUT":
            return self._put(environ, path, start_response)
        if method in ("GET", "HEAD"):
            obj = self.objects.get(path)
            if obj is None:
                start_response("404 Not Found", [("Content-Length", "0")])
                return [b""]
            start_response("200 OK", list(obj.headers))
            return [] if method == "HEAD" else obj.chunks
        if method == "DELETE":
            self.objects.pop(path, None)
            start_response("204 No Content", [])
            return [b""]
        start_response("405 Method Not Allowed", [("Content-Length", "0")])
        return [b""]

    def _put(self, environ, path, start_response):
        read = environ["wsgi.input"].read
        size = self.chunk_size
        chunks = []
        length = 0
        digest = md5() if self.verify else None
        while True:
            chunk = read(size)
            if not chunk:
                break
            length += len(chunk)
            if digest is not None:
                digest.update(chunk)
            if self.keep:
                chunks.append(chunk)
        footers = {}
        callback = environ.get(FOOTERS_CALLBACK)
        if callback is not None:
            callback(footers)
        etag = footers.get("Etag") or environ.get("HTTP_ETAG")
        if digest is not None:
            actual = digest.hexdigest()
            if etag is not None and etag.strip('"') != actual:
                start_response("422 Unprocessable Entity", [("Content-Length", "0")])
                return [b""]
            etag = actual
        etag = etag or "%032x" % next(_counter)
        headers = [("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
                   ("Content-Length", str(length)), ("Etag", etag),
                   ("X-Timestamp", "1700000000.00000"),
                   ("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT")]
        for key, value in environ.items():
            if key.startswith(_STORED_PREFIXES):
                headers.append((_header_name(key), value))
        for name, value in footers.items():
            if name.lower() != "etag":
                headers.append((name, value))
        self.objects[path] = StoredObject(headers, chunks if self.keep else [], length)
        start_response("201 Created", [("Etag", etag), ("Content-Length", "0")])
        return [b""]


def json_listing(entries):
    """Container listing JSON bytes, as a container server returns it."""
    return json.dumps([
        {"name": name, "hash": hash_value, "bytes": 1024,
         "content_type": "application/octet-stream",
         "last_modified": "2023-11-14T22:13:20.000000"}
        for name, hash_value in entries]).encode("ascii")
