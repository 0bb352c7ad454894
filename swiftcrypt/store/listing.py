"""Container and account listings: the query rules and the output formats.

``list_entries`` holds Swift's prefix/delimiter/marker/end_marker/limit
rules over any sorted source, so they are tested without a database; the
SQLite store supplies the source (see db.py).
"""

import datetime
import json
from xml.sax.saxutils import escape, quoteattr

DEFAULT_LIMIT = 10000
MAX_LIMIT = 10000


class Subdir(str):
    """A ``subdir`` entry of a delimited listing."""


def successor(prefix):
    """The smallest string greater than every string starting with
    ``prefix``; None if there is none (or prefix is empty)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # no surrogates in real text
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


def list_entries(fetch, prefix="", delimiter="", marker="", end_marker="", limit=DEFAULT_LIMIT):
    """Entries of a listing, in name order.

    ``fetch(lower, inclusive, upper, count)`` returns up to ``count`` rows
    (dicts with a ``name``) whose names are > ``lower`` (>= when ``inclusive``) and < ``upper``
    (either bound may be None), in name order. Returns rows and Subdir
    strings: with a delimiter, every name containing it after the prefix
    is rolled up into one subdir entry (omitted when it equals the marker).
    """
    upper = end_marker or None
    prefix_end = successor(prefix) if prefix else None
    if prefix_end is not None and (upper is None or prefix_end < upper):
        upper = prefix_end
    lower, inclusive = marker or None, False
    if prefix and (lower is None or lower < prefix):
        lower, inclusive = prefix, True
    results = []
    while len(results) < limit:
        wanted = limit - len(results)
        rows = fetch(lower, inclusive, upper, wanted)
        if not rows:
            break
        for row in rows:
            name = name_of(row)
            lower, inclusive = name, False
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                subdir = name[:cut + len(delimiter)]
                if subdir != marker:
                    results.append(Subdir(subdir))
                # skip every other name in this subdir
                lower, inclusive = successor(subdir), True
                if lower is None:
                    return results
                break
            results.append(row)
            if len(results) >= limit:
                break
        else:
            if len(rows) < wanted:  # the source is exhausted
                break
    return results


def name_of(row):
    """A row's name: rows are dicts with ``name``."""
    return row["name"]


def iso_time(timestamp):
    """Listing ``last_modified``: ISO 8601 UTC with microseconds, as Swift."""
    when = datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def choose_format(query_format, accept):
    """``json``, ``xml`` or ``plain`` from ``?format=`` or Accept."""
    fmt = (query_format or "").strip().lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    if fmt:
        return None
    accept = (accept or "").lower()
    if "application/json" in accept:
        return "json"
    if "application/xml" in accept or "text/xml" in accept:
        return "xml"
    return "plain"


CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "plain": "text/plain; charset=utf-8",
}


def render(fmt, kind, name, entries, entry_dict):
    """Render a listing body (bytes).

    ``kind`` is ``container`` (listing objects) or ``account`` (listing
    containers); ``entry_dict(row)`` gives a row's JSON fields.
    """
    if fmt == "json":
        items = [{"subdir": e} if isinstance(e, Subdir) else entry_dict(e) for e in entries]
        return json.dumps(items).encode("utf-8")
    if fmt == "xml":
        inner = "object" if kind == "container" else "container"
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n<%s name=%s>' % (kind, quoteattr(name))]
        for e in entries:
            if isinstance(e, Subdir):
                out.append("<subdir name=%s><name>%s</name></subdir>" % (quoteattr(e), escape(e)))
                continue
            fields = "".join(
                "<%s>%s</%s>" % (k, escape(str(v)), k) for k, v in entry_dict(e).items())
            out.append("<%s>%s</%s>" % (inner, fields, inner))
        out.append("</%s>" % kind)
        return "".join(out).encode("utf-8")
    return "".join(
        (str(e) if isinstance(e, Subdir) else name_of(e)) + "\n" for e in entries
    ).encode("utf-8")
