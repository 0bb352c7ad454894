"""Container and account listings: the query rules and the output formats.

``list_entries`` holds Swift's prefix/delimiter/marker/end_marker/limit/
reverse/path rules over any sorted source, so they are tested without a
database; the SQLite store supplies the source (see db.py).
"""

import datetime
import json
from typing import NamedTuple, Optional
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


class Window(NamedTuple):
    """The name range a listing fetch reads, and in which direction.

    Either bound may be None (unbounded); ``descending`` asks for the
    rows nearest ``upper`` first.
    """

    lower: Optional[str] = None
    lower_inclusive: bool = False
    upper: Optional[str] = None
    upper_inclusive: bool = False
    descending: bool = False

    def contains(self, name):
        """True if ``name`` lies inside the window (for in-memory sources)."""
        if self.lower is not None and (name < self.lower if self.lower_inclusive
                                       else name <= self.lower):
            return False
        if self.upper is not None and (name > self.upper if self.upper_inclusive
                                       else name >= self.upper):
            return False
        return True


def true_value(value):
    """Swift's reading of a boolean query value (``reverse=true``)."""
    return (value or "").strip().lower() in _TRUE_VALUES


_TRUE_VALUES = frozenset(("true", "1", "yes", "on", "t", "y"))


def path_prefix(path):
    """The prefix a legacy ``path=`` listing lists under: ``dir/`` for
    ``dir`` or ``dir/``, and everything for an empty path."""
    return path.rstrip("/") + "/" if path else ""


def list_entries(fetch, prefix="", delimiter="", marker="", end_marker="",
                 limit=DEFAULT_LIMIT, reverse=False, path=None):
    """Entries of a listing, in name order (descending with ``reverse``).

    ``fetch(window, count)`` returns up to ``count`` rows (dicts with a
    ``name``) inside the Window, nearest its start first. Returns rows and
    Subdir strings: with a delimiter, every name containing it after the
    prefix is rolled up into one subdir entry (omitted when it equals the
    marker that bounds the listing from below).

    As in Swift, ``reverse`` swaps the markers' roles: names are listed
    below ``marker`` and above ``end_marker``. ``path`` (Swift's legacy
    path listing) replaces prefix and delimiter: it lists the names one
    level under ``path`` - those with no further ``/``, or only a trailing
    one - and neither subdirs nor ``path`` itself.
    """
    if path is not None:
        prefix, delimiter = path_prefix(path), "/"
    if reverse:
        marker, end_marker = end_marker, marker
    cursor = _Cursor(prefix, marker, end_marker, reverse)
    results = []
    while len(results) < limit:
        wanted = limit - len(results)
        rows = fetch(cursor.window(), wanted)
        if not rows:
            break
        jumped = _take(rows, results, cursor, limit, prefix, delimiter, marker,
                       path is not None)
        if jumped is None:  # nothing sorts after the names skipped
            break
        if not jumped and len(rows) < wanted:  # the source is exhausted
            break
    return results


class _Cursor:
    """Where a listing's next fetch starts: its Window, narrowed past every
    name read and every run of names skipped."""

    def __init__(self, prefix, marker, end_marker, reverse):
        self.lower, self.lower_inclusive = marker or None, False
        if prefix and (self.lower is None or self.lower < prefix):
            self.lower, self.lower_inclusive = prefix, True
        self.upper, self.upper_inclusive = end_marker or None, False
        prefix_end = successor(prefix) if prefix else None
        if prefix_end is not None and (self.upper is None or prefix_end < self.upper):
            self.upper = prefix_end
        self.reverse = reverse

    def window(self):
        """The Window of names still to list."""
        return Window(self.lower, self.lower_inclusive, self.upper, self.upper_inclusive,
                      self.reverse)

    def passed(self, name):
        """``name`` is read: list on beyond it."""
        if self.reverse:
            self.upper, self.upper_inclusive = name, False
        else:
            self.lower, self.lower_inclusive = name, False

    def skip(self, start, keep_start):
        """Skip every name beginning with ``start`` (listing ``start``
        itself still, in reverse, when ``keep_start``); False if nothing
        sorts after them."""
        if self.reverse:
            self.upper, self.upper_inclusive = start, keep_start
            return True
        self.lower, self.lower_inclusive = successor(start), True
        return self.lower is not None


def _take(rows, results, cursor, limit, prefix, delimiter, marker, path_listing):
    """Add ``rows`` (rolled up into subdirs with a delimiter) to ``results``
    up to ``limit``. True when the cursor jumped over a subdir or subtree
    (fetch again from there), or the limit is reached; False when every row
    was read; None when nothing can follow."""
    for row in rows:
        name = name_of(row)
        cursor.passed(name)
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if path_listing:
            if name == prefix:
                continue
            if 0 <= cut < len(name) - 1:
                # deeper than one level: skip the rest of that subtree
                # (but not "dir/sub/" itself, which is listed)
                return True if cursor.skip(name[:cut + 1], keep_start=True) else None
        elif cut >= 0:
            subdir = name[:cut + len(delimiter)]
            if subdir != marker:
                results.append(Subdir(subdir))
            # skip every other name in this subdir
            return True if cursor.skip(subdir, keep_start=False) else None
        results.append(row)
        if len(results) >= limit:
            return True
    return False


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
