"""Server-side copy for the standalone pipeline, as Swift's ``copy``
middleware does it: ``PUT`` with ``X-Copy-From`` (and
``X-Copy-From-Account``), and ``COPY`` with ``Destination`` (and
``Destination-Account``), become a GET of the source and a PUT of its
body to the destination, both through the rest of the pipeline.

It must sit in front of the keymaster (``gatekeeper copy keymaster
encryption store``), as Swift's copy sits in front of its crypto filters:
the GET is then decrypted under the source's keys and the PUT encrypted
under the destination's, so the copy is a new object of its own, with its
own body key and a key id naming its own path. Behind the encryption
filter a copy would need the source's ciphertext re-keyed, which no filter
here does; without this filter the store refuses ``X-Copy-From`` (400) and
``COPY`` (405) rather than storing an empty object.

Left out (Swift's): ``?heartbeat=on``, copying large-object manifests
(the store has none), ``OPTIONS``.
"""

import io
from urllib.parse import quote, unquote

from swiftcrypt.common.environ import header_key
from swiftcrypt.common.httperrors import respond
from swiftcrypt.common.swiftpath import split_wsgi_path
from swiftcrypt.common.wsgiclient import IterReader
from swiftcrypt.common.wsgicontext import call_app
from swiftcrypt.store.creation import MAX_FILE_SIZE

# Source headers a copy never takes (the PUT makes its own; X-Timestamp and
# X-Backend-* would be trusted by the store as an internal tool's);
# everything else the source GET answers is offered to the PUT, request
# headers winning.
_NOT_FROM_SOURCE = frozenset((
    "x-static-large-object", "x-object-manifest", "etag", "content-type",
    "x-timestamp", "x-backend-timestamp", "content-length", "transfer-encoding",
))
# What the response to the copy repeats of the new object's headers.
_ECHOED_PREFIXES = ("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-")


def _true(value):
    return (value or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")


def _env_key(name):
    lname = name.lower()
    if lname in ("content-type", "content-length"):
        return lname.upper().replace("-", "_")
    return header_key(name)


class Refused(Exception):
    """A copy request refused with ``status`` and a one-line ``reason``."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def container_and_object(value, name):
    """``(container, object)`` WSGI strings of an ``X-Copy-From`` or
    ``Destination`` value (URL-quoted ``[/]container/object``); Refused
    (412) when it names no container and object."""
    text = unquote(value, encoding="latin-1")
    container, sep, obj = text[1:].partition("/") if text.startswith("/") \
        else text.partition("/")
    if not (container and sep and obj):
        raise Refused(412, "%s header must be of the form <container name>/<object name>"
                      % name)
    return container, obj


def account_name(value):
    """The account a ``*-Account`` header names (URL-quoted)."""
    account = unquote(value, encoding="latin-1")
    if not account or "/" in account:
        raise Refused(412, "Account name cannot be empty or contain slashes")
    return account


class ServerSideCopy:
    """The copy filter (see the module docstring)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        parts = split_wsgi_path(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD")
        if parts is None or parts[3] is None:
            return self.app(environ, start_response)
        try:
            if method == "COPY":
                environ = self._copy_to_put(environ, parts)
            elif method != "PUT" or not environ.get("HTTP_X_COPY_FROM"):
                return self.app(environ, start_response)
            return self._copy(environ, start_response, parts[0])
        except Refused as err:
            return respond(start_response, err.status, err.reason + "\n")

    @staticmethod
    def _copy_to_put(environ, parts):
        """A COPY's environ rewritten as the PUT with X-Copy-From it means."""
        version, account, container, obj = parts
        destination = environ.get("HTTP_DESTINATION")
        if not destination:
            raise Refused(412, "Destination header required")
        environ = dict(environ)
        dest_account = account
        if "HTTP_DESTINATION_ACCOUNT" in environ:
            dest_account = account_name(environ.pop("HTTP_DESTINATION_ACCOUNT"))
            environ["HTTP_X_COPY_FROM_ACCOUNT"] = quote(account, encoding="latin-1")
        dest_container, dest_obj = container_and_object(destination, "Destination")
        del environ["HTTP_DESTINATION"]
        environ.update({
            "REQUEST_METHOD": "PUT", "CONTENT_LENGTH": "0",
            "PATH_INFO": "/%s/%s/%s/%s" % (version, dest_account, dest_container, dest_obj),
            "HTTP_X_COPY_FROM": quote("/%s/%s" % (container, obj), encoding="latin-1"),
            "swift.orig_req_method": "COPY",
        })
        return environ

    def _copy(self, environ, start_response, version):
        # as Swift: a body declared by Content-Length is refused; a chunked
        # one is not read
        if (environ.get("CONTENT_LENGTH") or "0").strip() not in ("0", ""):
            raise Refused(400, "Copy requests require a zero byte body")
        dest_account = split_wsgi_path(environ["PATH_INFO"])[1]
        src_account = environ.get("HTTP_X_COPY_FROM_ACCOUNT")
        src_account = account_name(src_account) if src_account else dest_account
        src_container, src_obj = container_and_object(environ["HTTP_X_COPY_FROM"],
                                                      "X-Copy-From")
        source = self._get_source(environ, "/%s/%s/%s/%s" % (
            version, src_account, src_container, src_obj))
        if source.status_int >= 300:
            return source.send(start_response)
        try:
            size = int(source.header("Content-Length"))
        except (TypeError, ValueError):
            size = None
        if size is None or size > MAX_FILE_SIZE:
            source.close()
            raise Refused(413, "the source object is too large to copy")
        put_env = self._put_environ(environ, source, size)
        # taken before the PUT: the filters behind rewrite its environ
        # (the encrypter turns user metadata into sysmeta)
        extra = self._response_headers(src_account, src_container, src_obj, source, put_env)
        try:
            put = call_app(self.app, put_env)
        except BaseException:
            source.close()
            raise
        if put.is_success:
            put.headers += extra
        return _ClosingBoth(put.send(start_response), source)

    def _get_source(self, environ, path):
        """The source GET's response: the copy request's headers (its
        conditionals and Range apply to the source, as in Swift), no body."""
        env = {key: value for key, value in environ.items()
               if not key.startswith(("HTTP_X_COPY_FROM", "swift.callback."))
               and key not in ("CONTENT_TYPE", "HTTP_TRANSFER_ENCODING", "HTTP_ETAG")}
        env.update({"REQUEST_METHOD": "GET", "PATH_INFO": path, "CONTENT_LENGTH": "0",
                    "wsgi.input": io.BytesIO(b""), "swift.source": "SSC"})
        return call_app(self.app, env)

    @staticmethod
    def _put_environ(environ, source, size):
        env = {key: value for key, value in environ.items()
               if not key.startswith("HTTP_X_COPY_FROM")}
        fresh = _true(environ.get("HTTP_X_FRESH_METADATA"))
        for name, value in source.headers:
            lname = name.lower()
            if (lname in _NOT_FROM_SOURCE or lname.startswith("x-backend-")
                    or (fresh and not lname.startswith("x-object-sysmeta-"))):
                continue
            key = _env_key(name)
            if key not in env:  # the copy request's own headers win
                env[key] = value
        if not env.get("CONTENT_TYPE"):
            env["CONTENT_TYPE"] = source.header("Content-Type", "application/octet-stream")
        if source.status_int == 200 and source.header("Etag"):
            env["HTTP_ETAG"] = source.header("Etag")  # the store checks the body against it
        else:
            env.pop("HTTP_ETAG", None)
        env.pop("HTTP_TRANSFER_ENCODING", None)
        env.update({"CONTENT_LENGTH": str(size), "wsgi.input": IterReader(source.app_iter),
                    "wsgi.input_terminated": False, "swift.source": "SSC"})
        return env

    @staticmethod
    def _response_headers(account, container, obj, source, put_env):
        headers = [("X-Copied-From-Account", quote(account, encoding="latin-1")),
                   ("X-Copied-From", quote("%s/%s" % (container, obj), encoding="latin-1"))]
        last_modified = source.header("Last-Modified")
        if last_modified:
            headers.append(("X-Copied-From-Last-Modified", last_modified))
        for key, value in put_env.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").title()
                if name.lower().startswith(_ECHOED_PREFIXES) or name.lower() == "x-delete-at":
                    headers.append((name, value))
        return headers


class _ClosingBoth:
    """The PUT's response body; closing it closes the source GET too."""

    def __init__(self, body, source):
        self._body = body
        self._source = source

    def __iter__(self):
        return iter(self._body)

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._source.close()


def filter_factory(global_conf, **local_conf):
    """Paste filter factory (``paste.filter_factory =
    swiftcrypt.store.copy:filter_factory``); no options."""
    return ServerSideCopy
