"""HTTP byte ranges (RFC 7233) and multipart/byteranges bodies, pure.

``parse_range`` follows Swift's swob (``Range`` and
``ranges_for_length``), so a client gets the same answer from the store as
from a Swift cluster: the same headers are ignored, the same ones are
unsatisfiable, and the same "egregious" multi-range requests (RFC 7233
section 6.1) are refused with 416.
"""

import os

MAX_RANGES = 50  # more satisfiable ranges than this: 416, as swob
MAX_RANGE_OVERLAPS = 2  # more overlapping pairs than this: 416
MAX_NONASCENDING_RANGES = 8  # this many ranges, not in ascending order: 416


def _parse_spec(header):
    """The ``(first, last)`` pairs of a Range header (None for an absent
    end), or None when the header is syntactically invalid and must be
    ignored. Spaces anywhere are dropped, as swob drops them."""
    text = header.replace(" ", "")
    if text[:6].lower() != "bytes=":
        return None
    specs = []
    for item in text[6:].split(","):
        first, dash, last = item.partition("-")
        if not dash or not (first or last):
            return None
        try:
            # int(), as swob: the start may be any integer literal Python reads
            first = int(first) if first else None
            if last and not last.isdigit():
                return None
            last = int(last) if last else None
        except ValueError:
            return None
        if first is not None and last is not None and last < first:
            return None
        specs.append((first, last))
    return specs


def _satisfiable(specs, length):
    """swob's ``(start, stop)`` half-open spans of ``specs`` against
    ``length`` bytes, in request order; unsatisfiable ones left out."""
    spans = []
    for first, last in specs:
        if first is None:  # a suffix: the last `last` bytes
            if last:
                spans.append((max(0, length - last), length))
        elif first < length:
            spans.append((first, length if last is None else min(last + 1, length)))
    return spans


def _egregious(spans):
    """True for the multi-range requests swob refuses: too many ranges,
    too many overlapping pairs, or many ranges out of order."""
    if len(spans) > MAX_RANGES:
        return True
    overlaps = 0
    for i, (start1, stop1) in enumerate(spans):
        for start2, stop2 in spans[i + 1:]:
            if (start1 < start2 < stop1 or start1 < stop2 < stop1
                    or start2 < start1 < stop2 or start2 < stop1 < stop2):
                overlaps += 1
                if overlaps > MAX_RANGE_OVERLAPS:
                    return True
    ascending = all(a <= b for a, b in zip(spans, spans[1:]))
    return not ascending and len(spans) >= MAX_NONASCENDING_RANGES


def parse_range(header, length):
    """Resolve a ``Range`` header against an entity of ``length`` bytes.

    Returns None when the whole entity should be sent with a 200 (no
    header, a header that does not parse, or only suffix ranges of an
    empty entity), ``[]`` when the request gets a 416 (no satisfiable
    range, or an egregious multi-range request), else a list of
    ``(first, last)`` inclusive byte positions in request order.
    """
    if not header:
        return None
    specs = _parse_spec(header)
    if not specs:
        return None
    spans = _satisfiable(specs, length)
    if _egregious(spans):
        return []
    if length == 0 and spans:
        # Only a suffix range gets here: "up to the last N bytes" of an
        # empty entity is the whole (empty) entity, with a 200.
        return None
    return [(start, stop - 1) for start, stop in spans]


def content_range(first, last, length):
    """``Content-Range`` value for one satisfiable range."""
    return "bytes %d-%d/%d" % (first, last, length)


def new_boundary():
    """A random multipart boundary (hex, ASCII)."""
    return os.urandom(16).hex()


def multipart_layout(ranges, length, content_type, boundary):
    """Plan a multipart/byteranges body.

    Returns ``(parts, terminator, total_length)`` where ``parts`` is a list
    of ``(header_bytes, first, last)``; the body is, for each part, its
    header, the bytes first..last, then CRLF; then the terminator.
    ``content_type`` is a WSGI string.
    """
    ctype = content_type.encode("latin-1")
    parts, total = [], 0
    for first, last in ranges:
        head = b"".join((
            b"--", boundary.encode("ascii"), b"\r\n",
            b"Content-Type: ", ctype, b"\r\n",
            b"Content-Range: ", content_range(first, last, length).encode("ascii"), b"\r\n",
            b"\r\n",
        ))
        parts.append((head, first, last))
        total += len(head) + (last - first + 1) + 2
    terminator = b"--" + boundary.encode("ascii") + b"--"
    return parts, terminator, total + len(terminator)


def multipart_body(parts, terminator, read_range):
    """Yield the multipart body; ``read_range(first, last)`` yields bytes."""
    for head, first, last in parts:
        yield head
        yield from read_range(first, last)
        yield b"\r\n"
    yield terminator
