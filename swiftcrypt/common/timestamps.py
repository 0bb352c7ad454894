"""Swift timestamps with an offset: ``<normal>[_<offset>]``.

``normal`` is seconds since the epoch written ``%016.05f``; ``offset`` is
a counter written as 16 hex digits, present only when non-zero. Two
timestamps order by normal value, then offset. An internal writer that
must replace an object *unless a client wrote after it* (the container
reconciler, ``swiftcrypt rekey``) keeps the object's own instant and
bumps the offset: it beats the version it replaces and loses to any
later write.
"""

_OFFSET_DIGITS = 16
_MAX_OFFSET = 16 ** _OFFSET_DIGITS - 1


def normalize(seconds):
    """``seconds`` (number or text) in the ``%016.05f`` normal form."""
    value = float(seconds)
    if not value >= 0 or value == float("inf"):
        raise ValueError("timestamp must be a finite non-negative number")
    return "%016.05f" % value


def parse(text):
    """``(normal, offset)`` of an ``X-Timestamp`` value; ValueError if it
    is not one."""
    if not isinstance(text, str):
        raise ValueError("timestamp is not text")
    base, sep, offset_text = text.strip().partition("_")
    offset = 0
    if sep:
        if not offset_text or len(offset_text) > _OFFSET_DIGITS:
            raise ValueError("bad timestamp offset")
        offset = int(offset_text, 16)  # ValueError if not hex
    return normalize(base), offset


def internal(normal, offset=0):
    """The ``X-Timestamp`` text for ``(normal, offset)``."""
    normal = normalize(normal)
    if not 0 <= offset <= _MAX_OFFSET:
        raise ValueError("timestamp offset out of range")
    return normal if offset == 0 else "%s_%0*x" % (normal, _OFFSET_DIGITS, offset)


def order_key(text):
    """A sort key: compare two timestamps by comparing their keys."""
    normal, offset = parse(text)
    return float(normal), offset


def bumped(text):
    """The same instant as ``text`` with the offset one higher."""
    normal, offset = parse(text)
    return internal(normal, offset + 1)
