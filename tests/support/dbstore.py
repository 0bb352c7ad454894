"""An in-memory backend keeping account or container metadata as Swift's
account and container servers do, for the encryption filter's tests."""

import json
from urllib.parse import parse_qs


class DbStore:
    """Metadata of the ``kind`` ("account" or "container") paths it is
    sent: PUT/POST merge ``X-<Kind>-Meta-*`` and ``X-<Kind>-Sysmeta-*``, an
    empty value removes (``X-Remove-*`` is the proxy's to translate, so it
    is handled here as the proxy would); GET answers a JSON listing (one
    entry, none after a ``marker``) with every stored header. ``meta`` is
    the metadata of ``path``, the path most tests use."""

    def __init__(self, kind="container", path="/v1/a/c"):
        self.kind = kind
        self.path = path
        self.by_path = {}
        self.requests = []
        self._kept = ("x-%s-meta-" % kind, "x-%s-sysmeta-" % kind)
        self._remove = "x-remove-%s-meta-" % kind

    @property
    def meta(self):
        return self.by_path.setdefault(self.path, {})

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        headers = {k[5:].replace("_", "-").title(): v
                   for k, v in environ.items() if k.startswith("HTTP_")}
        self.requests.append((method, headers))
        meta = self.by_path.setdefault(environ["PATH_INFO"], {})
        if method in ("PUT", "POST"):
            for name, value in headers.items():
                if name.lower().startswith(self._kept):
                    if value:
                        meta[name] = value
                    else:
                        meta.pop(name, None)
                elif name.lower().startswith(self._remove):
                    meta.pop("X-%s-Meta-%s" % (self.kind.title(), name[len(self._remove):]),
                             None)
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        entry = {"name": "o", "hash": "d41d8cd98f00b204e9800998ecf8427e", "bytes": 0} \
            if self.kind == "container" else {"name": "c", "count": 0, "bytes": 0}
        marker = parse_qs(environ.get("QUERY_STRING", "")).get("marker", [""])[0]
        body = json.dumps([entry] if entry["name"] > marker else []).encode()
        out = [("Content-Type", "application/json; charset=utf-8"),
               ("Content-Length", str(len(body)))] + sorted(meta.items())
        if environ.get("HTTP_ORIGIN"):
            out.append(("Access-Control-Expose-Headers",
                        "etag, x-%s-meta-color" % self.kind))
        start_response("200 OK", out)
        return [body] if method == "GET" else [b""]
