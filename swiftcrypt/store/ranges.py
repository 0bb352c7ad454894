"""HTTP byte ranges (RFC 7233) and multipart/byteranges bodies, pure."""

import os

MAX_RANGES = 50  # as Swift: more ranges than this and the header is ignored


def parse_range(header, length):
    """Resolve a ``Range`` header against an entity of ``length`` bytes.

    Returns None when the whole entity should be sent (no header, a header
    that does not parse, too many ranges, or a suffix range of an empty
    entity), ``[]`` when no range is satisfiable (416), else a list of
    ``(first, last)`` inclusive byte positions in request order.
    """
    if not header:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    wanted = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        first, dash, last = item.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or not (first or last):
            return None
        if (first and not first.isdigit()) or (last and not last.isdigit()):
            return None
        if first and last and int(first) > int(last):
            return None  # syntactically invalid: the header is ignored
        wanted.append((int(first) if first else None, int(last) if last else None))
    if not wanted or len(wanted) > MAX_RANGES:
        return None
    if length == 0:
        # No byte of an empty entity can be named; asking for "up to the
        # last N bytes" of it is answered with the whole (empty) entity.
        suffix = any(first is None and last for first, last in wanted)
        return None if suffix else []
    ranges = []
    for first, last in wanted:
        if first is None:  # suffix: the last `last` bytes
            if last == 0:
                continue
            ranges.append((max(0, length - last), length - 1))
        elif first < length:
            ranges.append((first, length - 1 if last is None else min(last, length - 1)))
    return ranges


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
