"""A minimal in-memory object backend for filter unit tests.

It honours the parts of the object-server contract the filters rely on:
footers through ``swift.callback.update_footers``, the footer Etag checked
against the received bytes, POST replacing user metadata and transient
sysmeta, ``X-Backend-Etag-Is-At`` for conditionals, single ranges, and a
JSON container listing whose hash is the container-update override etag.
It is a test double: the functional and compatibility suites use the real
embedded store and real servers.
"""

import json

from webob import Request, Response
from swiftcrypt.common import checksums

_KEEP_ON_POST = ("x-object-sysmeta-",)
_REPLACED_ON_POST = ("x-object-meta-", "x-object-transient-sysmeta-")
_STORED = _KEEP_ON_POST + _REPLACED_ON_POST


class MemStore:
    def __init__(self):
        self.objects = {}  # path -> (metadata dict, body bytes)
        self.requests = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.requests.append((req.method, req.environ["PATH_INFO"], dict(req.headers)))
        handler = getattr(self, "do_" + req.method, None)
        parts = req.environ["PATH_INFO"].split("/", 4)
        if len(parts) == 4:
            resp = self.listing(req) if req.method == "GET" else Response(status=204)
        elif handler is None:
            resp = Response(status=405)
        else:
            resp = handler(req)
        return resp(environ, start_response)

    def do_PUT(self, req):
        chunks = []
        while True:
            chunk = req.environ["wsgi.input"].read(65536)
            if not chunk:
                break
            chunks.append(chunk)
        body = b"".join(chunks)
        footers = {}
        callback = req.environ.get("swift.callback.update_footers")
        if callback:
            try:
                callback(footers)
            except Exception as err:
                if hasattr(err, "status_int"):
                    return err
                raise
        meta = {k: v for k, v in req.headers.items() if k.lower().startswith(_STORED)}
        meta["Content-Type"] = req.headers.get("Content-Type", "application/octet-stream")
        for k, v in footers.items():
            meta[k] = v
        etag = checksums.md5(body).hexdigest()
        expected = footers.get("Etag", req.headers.get("Etag"))
        if expected is not None and expected.strip('"') != etag:
            return Response(status=422)
        meta["Etag"] = etag
        self.objects[req.environ["PATH_INFO"]] = (meta, body)
        return Response(status=201, headers={"Etag": etag})

    def do_POST(self, req):
        if req.environ["PATH_INFO"] not in self.objects:
            return Response(status=404)
        meta, body = self.objects[req.environ["PATH_INFO"]]
        meta = {k: v for k, v in meta.items() if not k.lower().startswith(_REPLACED_ON_POST)}
        meta.update({k: v for k, v in req.headers.items()
                     if k.lower().startswith(_REPLACED_ON_POST)})
        self.objects[req.environ["PATH_INFO"]] = (meta, body)
        return Response(status=202)

    def _etag_for_conditions(self, req, meta):
        for name in req.headers.get("X-Backend-Etag-Is-At", "").split(","):
            name = name.strip()
            if name and name in meta:
                return meta[name]
        return meta["Etag"]

    def do_GET(self, req):
        if req.environ["PATH_INFO"] not in self.objects:
            return Response(status=404)
        meta, body = self.objects[req.environ["PATH_INFO"]]
        etag = self._etag_for_conditions(req, meta)
        if req.if_match and etag not in req.if_match:
            return Response(status=412, headers=meta)
        if req.if_none_match and etag in req.if_none_match:
            return Response(status=304, headers=meta)
        resp = Response(body=body, headers=meta, conditional_response=True)
        resp.headers["Content-Length"] = str(len(body))
        return resp

    do_HEAD = do_GET

    def do_DELETE(self, req):
        return Response(status=204 if self.objects.pop(req.environ["PATH_INFO"], None) else 404)

    def listing(self, req):
        prefix = req.environ["PATH_INFO"] + "/"
        entries = []
        for path, (meta, body) in sorted(self.objects.items()):
            if path.startswith(prefix):
                entries.append({
                    "name": path[len(prefix):].encode("latin-1").decode("utf-8"),
                    "hash": meta.get("X-Object-Sysmeta-Container-Update-Override-Etag",
                                     meta["Etag"]),
                    "bytes": len(body),
                    "content_type": meta["Content-Type"],
                    "last_modified": "2026-01-01T00:00:00.000000",
                })
        return Response(body=json.dumps(entries).encode(), content_type="application/json",
                        charset=None)
