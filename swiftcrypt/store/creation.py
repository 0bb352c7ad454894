"""What an object PUT (or POST) must satisfy before the store reads its
body, as a Swift cluster checks it: the body's framing and size (Swift's
``check_object_creation`` and swob's message length), ``If-None-Match``
(the proxy allows only ``*``), and the headers that would make the object
something the store does not implement (a server-side copy without the
copy filter in front, a large-object manifest). Pure functions over the
request's headers and query.
"""

from swiftcrypt.common import etags

MAX_FILE_SIZE = 5 * 1024 ** 3 + 2  # Swift's default max_file_size


class Refused(Exception):
    """The request is refused: ``status`` and a one-line ``reason``."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def body_length(headers, input_terminated=False):
    """The PUT body's length: an int from Content-Length, None for a body
    read to its end (chunked, or a server that terminates the input).

    As Swift: a Transfer-Encoding of more than one coding is 501, a single
    coding other than chunked is 400 (the store cannot decode either, and
    reading such a body raw would store the wrong bytes); chunked wins over
    Content-Length; a body longer than Swift's maximum object size is 413
    at once; no length at all is 411.
    """
    coding = headers.get("Transfer-Encoding", "").strip()
    if coding:
        codings = coding.split(",")
        if len(codings) > 1:
            raise Refused(501, "Unsupported Transfer-Coding header value specified "
                               "in Transfer-Encoding header")
        if codings[0].strip().lower() != "chunked":
            raise Refused(400, "Invalid Transfer-Encoding header value")
        return None
    value = headers.get("Content-Length")
    if value is not None:
        value = value.strip()
        if not value.isdigit():
            raise Refused(400, "Content-Length must be a non-negative integer")
        length = int(value)
        check_size(length)
        return length
    if input_terminated:
        return None
    raise Refused(411, "a PUT needs Content-Length or chunked Transfer-Encoding")


def check_size(received):
    """Refused (413) once a body passes Swift's maximum object size."""
    if received > MAX_FILE_SIZE:
        raise Refused(413, "Your request is too large (the maximum object size is %d "
                           "bytes)" % MAX_FILE_SIZE)


def if_none_match_star(headers):
    """True when a PUT carries ``If-None-Match: *`` (412 if the object
    exists). An etag there is 400, as Swift's proxy answers: a PUT cannot
    be conditional on the etag of what it replaces."""
    value = headers.get("If-None-Match")
    if value is None or not value.strip():
        return False
    tags = {etags.unquote(tag) for tag in value.split(",")}
    if "*" not in tags:
        raise Refused(400, "If-None-Match only supports *")
    return True


def check_content_type(headers, environ):
    """Refused (400) for a PUT whose Content-Type carries a ``swift_*``
    parameter, as Swift's proxy refuses it: ``swift_bytes`` is how a large
    object's manifest tells listings its size, so a client's would change
    what listings show. Internal writers that mean it (a re-key of such a
    manifest) say so with ``swift.content_type_overridden``."""
    if environ.get("swift.content_type_overridden"):
        return
    for param in headers.get("Content-Type", "").split(";")[1:]:
        if param.lstrip().startswith("swift_"):
            raise Refused(400, "Invalid Content-Type, swift_* is not a valid parameter name.")


def unsupported(method, headers, query):
    """Refused when a PUT or POST asks for something the store would
    otherwise store as a different object: a server-side copy reaching
    the store (no copy filter in front of it), or a large-object
    manifest (the store serves neither kind)."""
    if method == "PUT" and "X-Copy-From" in headers:
        raise Refused(400, "X-Copy-From: server-side copy needs the copy filter "
                           "(swiftcrypt.store.copy) in front of the keymaster")
    if "X-Object-Manifest" in headers:
        raise Refused(400, "X-Object-Manifest: dynamic large objects are not supported "
                           "by the store; upload the object whole")
    if method == "PUT" and query.get("multipart-manifest") == "put":
        raise Refused(400, "multipart-manifest=put: static large objects are not "
                           "supported by the store; upload the object whole")
    if "X-Static-Large-Object" in headers:
        raise Refused(400, "X-Static-Large-Object is a reserved header")
