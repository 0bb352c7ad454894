"""Headers and Swift's metadata rules, as pure functions.

Header values travel as WSGI strings (each byte one latin-1 code point).
On disk we keep them as real text, with undecodable bytes kept through
``surrogateescape``, so the stored file holds exactly the bytes the client
(or the filters) sent.
"""

import mimetypes
from collections.abc import ItemsView, KeysView, MutableMapping, ValuesView

from swiftcrypt.common import names
from swiftcrypt.common.options import is_true

# Swift's proxy marks the answer it makes up for an account that does not
# exist (account_autocreate) with this; the store does too, so internal
# tools (swiftcrypt rekey) can tell an unknown account from an empty one.
FAKE_ACCOUNT_LISTING = "X-Backend-Fake-Account-Listing"

OBJECT_ALLOWED_HEADERS = frozenset((
    "cache-control", "content-disposition", "content-encoding",
    "content-language", "expires", "x-delete-at", "x-object-manifest",
    "x-robots-tag", "x-static-large-object",
))
CONTAINER_ACL_HEADERS = frozenset((
    "x-container-read", "x-container-write", "x-versions-location",
    "x-history-location",
))


class HeaderDict(MutableMapping):
    """A case-insensitive dict of headers keeping the first casing seen."""

    def __init__(self, *args, **kwargs):
        self._items = {}
        self.update(*args, **kwargs)

    def __getitem__(self, name):
        return self._items[name.lower()][1]

    def __setitem__(self, name, value):
        old = self._items.get(name.lower())
        self._items[name.lower()] = (old[0] if old else name, value)

    def __delitem__(self, name):
        del self._items[name.lower()]

    def __iter__(self):
        return (name for name, _value in self._items.values())

    def __len__(self):
        return len(self._items)

    def __reversed__(self):
        return (name for name, _value in reversed(list(self._items.values())))

    # Views that reverse, as a dict's do: Swift hands middleware (the
    # footers callback) a dict subclass, and some iterate it backwards.
    def keys(self):
        return _Keys(self)

    def items(self):
        return _Items(self)

    def values(self):
        return _Values(self)

    def __repr__(self):  # values may be secret-ish (crypto meta): names only
        return "<HeaderDict %s>" % sorted(self)


class _Keys(KeysView):
    def __reversed__(self):
        return reversed(self._mapping)


class _Items(ItemsView):
    def __reversed__(self):
        return ((name, self._mapping[name]) for name in reversed(self._mapping))


class _Values(ValuesView):
    def __reversed__(self):
        return (self._mapping[name] for name in reversed(self._mapping))


def request_headers(environ):
    """The request headers of a WSGI environ as a HeaderDict."""
    headers = HeaderDict()
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").title()] = value
    return headers


def wsgi_to_stored(value):
    """WSGI string -> text to store (bytes kept via surrogateescape)."""
    return value.encode("latin-1").decode("utf-8", "surrogateescape")


def stored_to_wsgi(text):
    """Stored text -> WSGI string with the original bytes."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def is_user_meta(kind, name):
    """``X-<Kind>-Meta-*``."""
    return name.lower().startswith("x-%s-meta-" % kind)


def is_sysmeta(kind, name):
    """``X-<Kind>-Sysmeta-*``."""
    return name.lower().startswith("x-%s-sysmeta-" % kind)


def is_transient_sysmeta(name):
    """``X-Object-Transient-Sysmeta-*``."""
    return name.lower().startswith("x-object-transient-sysmeta-")


def _object_put_header(name):
    lower = name.lower()
    return (lower == "content-type" or lower in OBJECT_ALLOWED_HEADERS
            or is_user_meta("object", name) or is_sysmeta("object", name)
            or is_transient_sysmeta(name))


def guess_content_type(name):
    """The Content-Type Swift's proxy gives an object PUT without one: the
    type its name's extension stands for (mimetypes), else
    application/octet-stream."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def object_put_metadata(headers, footers, name):
    """Metadata an object PUT of object ``name`` stores: Content-Type, the
    allowed headers, user metadata, sysmeta and transient sysmeta; footers
    override request headers. Values stay WSGI strings. Without a
    Content-Type, or with ``X-Detect-Content-Type: true``, the type is
    guessed from the name, as Swift's proxy does."""
    meta = HeaderDict()
    for source in (headers, footers):
        for header, value in source.items():
            if _object_put_header(header):
                meta[header] = value
    if not meta.get("Content-Type") or is_true(headers.get("X-Detect-Content-Type")):
        meta["Content-Type"] = guess_content_type(name)
    return meta


def object_post_metadata(old, headers):
    """Metadata after an object POST: sysmeta and Content-Type are kept
    (Content-Type replaced when the POST has one); user metadata, transient
    sysmeta and the allowed headers are replaced by the POST's."""
    meta = HeaderDict()
    for name, value in old.items():
        if name.lower() == "content-type" or is_sysmeta("object", name):
            meta[name] = value
    for name, value in headers.items():
        lower = name.lower()
        if (is_user_meta("object", name) or is_transient_sysmeta(name)
                or lower in OBJECT_ALLOWED_HEADERS
                or (lower == "content-type" and value)):
            meta[name] = value
    return meta


def updated_meta(kind, existing, headers):
    """Container or account metadata after a PUT/POST with ``headers``.

    ``X-<Kind>-Meta-*`` and ``X-<Kind>-Sysmeta-*`` (and container ACLs) are
    set; an empty value or ``X-Remove-<Kind>-Meta-<Name>`` removes one.
    """
    meta = HeaderDict(existing)
    remove_prefix = "x-remove-%s-meta-" % kind
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(remove_prefix):
            meta.pop("X-%s-Meta-%s" % (kind.title(), name[len(remove_prefix):]), None)
        elif (is_user_meta(kind, name) or is_sysmeta(kind, name)
              or (kind == "container" and lower in CONTAINER_ACL_HEADERS)):
            if value == "":
                meta.pop(name, None)
            else:
                meta[name] = value
    return meta


def split_param(value, param):
    """Remove ``; <param>=<v>`` from a header value: ``(rest, v or None)``."""
    parts = value.split(";")
    kept, found = [parts[0]], None
    for part in parts[1:]:
        key, sep, val = part.strip().partition("=")
        if sep and key.strip().lower() == param:
            found = val.strip()
        else:
            kept.append(part)
    return ";".join(kept), found


def without_swift_bytes(content_type):
    """A Content-Type as a GET or HEAD shows it: Swift's proxy drops a
    trailing ``;swift_bytes=`` parameter, which only listings use."""
    rest, sep, last = content_type.rpartition(";")
    if sep and last.lstrip().startswith("swift_bytes="):
        return rest
    return content_type


def listed_type_and_bytes(content_type, size):
    """The ``content_type`` and ``bytes`` a container listing shows for a
    stored Content-Type and size: as in Swift, a ``swift_bytes`` parameter
    is left out of the type and shown as the bytes (if it is an integer);
    the container's and account's bytes used count ``size`` regardless."""
    return _swift_bytes(content_type, size)


def _swift_bytes(value, size):
    """``value`` without its ``swift_bytes`` parameter, and the size that
    parameter gives (``size`` when there is none or it is no integer)."""
    rest, swift_bytes = split_param(value, "swift_bytes")
    if swift_bytes is not None:
        try:
            size = int(swift_bytes)
        except ValueError:
            pass
    return rest, size


def listing_etag_and_bytes(meta, etag, size):
    """The ``hash`` and ``bytes`` a container listing shows for an object.

    The container-update override etag wins over the stored MD5; a
    ``swift_bytes`` parameter on it gives the listed size.
    """
    override = meta.get(names.OVERRIDE_ETAG)
    if override is None:
        return etag, size
    return _swift_bytes(override, size)
