"""Swift's limits on user metadata, checked on the plaintext.

Encryption makes values longer, so a proxy checking after us would count
ciphertext; checking here keeps Swift's limits as users know them. Object
metadata values may be any bytes, as in Swift (only account and container
metadata must be UTF-8; Swift's functional tests rely on it): we encrypt
the raw bytes and give them back unchanged.
"""

MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192

OBJECT_META_PREFIX = "x-object-meta-"


def metadata_problem(headers, prefix=OBJECT_META_PREFIX):
    """Return why ``headers`` (name, WSGI value pairs) break the limits on
    metadata named ``prefix``*, or None if they are fine. Account and
    container metadata must also be UTF-8, as Swift's proxy requires."""
    utf8 = prefix != OBJECT_META_PREFIX
    count = 0
    size = 0
    for name, value in headers:
        if len(value) > MAX_HEADER_SIZE:
            return "Header value too long: %s" % name[:MAX_META_NAME_LENGTH]
        lname = name.lower()
        if not lname.startswith(prefix):
            continue
        short = name[len(prefix):]
        if not short:
            return "Metadata name cannot be empty"
        if utf8 and not (_is_utf8(short) and _is_utf8(value)):
            return "Metadata must be valid UTF-8"
        count += 1
        size += len(short) + len(value)
        if len(short) > MAX_META_NAME_LENGTH:
            return "Metadata name too long: %s" % name
        if len(value) > MAX_META_VALUE_LENGTH:
            return "Metadata value longer than %d: %s" % (MAX_META_VALUE_LENGTH, name)
        if count > MAX_META_COUNT:
            return "Too many metadata items; max %d" % MAX_META_COUNT
        if size > MAX_META_OVERALL_SIZE:
            return "Total metadata too large; max %d" % MAX_META_OVERALL_SIZE
    return None


def set_problem(merged):
    """Why a whole set of account or container metadata (``{name after
    the prefix: WSGI value}``, empty values left out) breaks the limits the
    account and container servers check on what they would keep (90
    items, 4096 characters of real text), or None."""
    if len(merged) > MAX_META_COUNT:
        return "Too many metadata items; max %d" % MAX_META_COUNT
    if sum(len(_real(name)) + len(_real(value))
           for name, value in merged.items()) > MAX_META_OVERALL_SIZE:
        return "Total metadata too large; max %d" % MAX_META_OVERALL_SIZE
    return None


def _real(wsgi_value):
    """The text Swift's servers count (wsgi_to_str: never fails)."""
    return wsgi_value.encode("latin-1").decode("utf-8", "surrogateescape")


def _is_utf8(wsgi_value):
    # Swift's check_utf8: UTF-8 and no NUL
    try:
        wsgi_value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return "\x00" not in wsgi_value
