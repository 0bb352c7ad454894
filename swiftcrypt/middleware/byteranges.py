"""Streaming rewrite of ``multipart/byteranges`` bodies, part by part.

Each part's bytes are located by its ``Content-Range`` (never by searching
for the boundary inside data), so ciphertext that happens to contain the
boundary cannot confuse it. Pure: bytes in, bytes out.
"""

import re

from swiftcrypt.common.errors import CryptoError

_RANGE = re.compile(rb"content-range:\s*bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
_MAX_HEAD = 65536


def parse_content_range(value):
    """``bytes S-E/T`` -> ``(start, end, total or None)``."""
    match = _RANGE.match(b"content-range: " + value.encode("latin-1"))
    if not match:
        raise ValueError("invalid Content-Range: %r" % value)
    total = match.group(3)
    return int(match.group(1)), int(match.group(2)), None if total == b"*" else int(total)


class ByterangesRewriter:
    """Feeds a multipart/byteranges body through ``transform(start)``.

    ``transform(start)`` returns an object whose ``update(data)`` rewrites
    a part's data that begins at byte ``start`` of the whole object.
    """

    def __init__(self, boundary, transform):
        self._final = b"--" + boundary + b"--"
        self._transform = transform
        self._buf = b""
        self._state = "head"
        self._remaining = 0
        self._ctx = None

    def feed(self, chunk):
        """Rewrite the next chunk of the body; returns bytes ready to send."""
        self._buf += chunk
        out = []
        while self._buf:
            if self._state == "body":
                take = self._buf[: self._remaining]
                self._buf = self._buf[len(take):]
                self._remaining -= len(take)
                out.append(self._ctx.update(take))
                if not self._remaining:
                    self._state = "head"
            elif self._state == "head":
                if self._buf.lstrip(b"\r\n").startswith(self._final):
                    self._state = "tail"
                    continue
                end = self._buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buf) > _MAX_HEAD:
                        raise CryptoError("multipart part headers too long")
                    break
                head, self._buf = self._buf[: end + 4], self._buf[end + 4:]
                match = _RANGE.search(head)
                if not match:
                    raise CryptoError("multipart part has no Content-Range")
                start, stop = int(match.group(1)), int(match.group(2))
                if stop < start:
                    raise CryptoError("multipart part has an invalid Content-Range")
                self._remaining = stop - start + 1
                self._ctx = self._transform(start)
                self._state = "body"
                out.append(head)
            else:
                out.append(self._buf)
                self._buf = b""
        return b"".join(out)

    def finish(self):
        """Return what is left; raises CryptoError if a part was cut short."""
        if self._state == "body" and self._remaining:
            raise CryptoError("multipart body ended inside a part")
        rest, self._buf = self._buf, b""
        return rest
