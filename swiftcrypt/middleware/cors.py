"""CORS: the decrypted header names a browser may read.

A browser shows a cross-origin script only the response headers named in
``Access-Control-Expose-Headers``. The proxy's CORS handling names the
metadata it saw, which was encrypted then (under other names), so the
decrypter adds the names of the values it decrypted.
"""

EXPOSE_HEADERS = "Access-Control-Expose-Headers"
_EXPOSE_HEADERS_L = EXPOSE_HEADERS.lower()


def expose_object_headers(headers, names):
    """``headers`` with the decrypted object header ``names`` added to
    Access-Control-Expose-Headers; with no such header, one naming
    ``etag`` and ``names``."""
    out = []
    found = False
    for name, value in headers:
        if name.lower() == _EXPOSE_HEADERS_L:
            found = True
            value = ", ".join([value] + names) if value else ", ".join(names)
        out.append((name, value))
    if not found:
        out.append((EXPOSE_HEADERS, ", ".join(["etag"] + names)))
    return out


def expose_metadata_headers(headers, names):
    """``headers`` with the decrypted account or container metadata
    ``names`` added to an Access-Control-Expose-Headers the proxy set; no
    such header means the request was no CORS request the resource
    allows, and none is added."""
    return [(name, "%s, %s" % (value, ", ".join(names)) if value else ", ".join(names))
            if name.lower() == _EXPOSE_HEADERS_L else (name, value)
            for name, value in headers]
