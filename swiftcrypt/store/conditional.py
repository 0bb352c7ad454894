"""Conditional requests (If-Match, If-None-Match, If-(Un)Modified-Since), pure."""

import email.utils

from swiftcrypt.common import etags


def parse_etags(value):
    """Entity tags of an ``If-Match``/``If-None-Match`` value, unquoted.

    Returns a set; ``"*"`` in it means "any". Weak tags compare by value.
    """
    return {tag for tag in etags.parse_list(value) if tag}


def etag_to_compare(metadata, etag_is_at, stored_etag):
    """The etag conditional headers are evaluated against.

    ``etag_is_at`` is the comma-separated ``X-Backend-Etag-Is-At`` request
    header: the first metadata name in it that the object has wins;
    otherwise the stored MD5 etag.
    """
    if etag_is_at:
        for name in etag_is_at.split(","):
            name = name.strip()
            if name and metadata.get(name) is not None:
                return metadata[name]
    return stored_etag


def _http_date(value):
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


def evaluate(method, headers, etag, last_modified):
    """Status forced by the request's preconditions, or None to proceed.

    ``headers`` is a case-insensitive mapping; ``etag`` the value to compare
    (see etag_to_compare); ``last_modified`` whole seconds since the epoch,
    as sent in ``Last-Modified``. Follows RFC 7232 section 6: If-Match,
    else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
    """
    safe = method in ("GET", "HEAD")
    if_match = headers.get("If-Match")
    if if_match is not None:
        tags = parse_etags(if_match)
        if "*" not in tags and etag not in tags:
            return 412
    else:
        since = _http_date(headers.get("If-Unmodified-Since") or "")
        if since is not None and last_modified > since:
            return 412
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        if "*" in tags or etag in tags:
            return 304 if safe else 412
    elif safe:
        since = _http_date(headers.get("If-Modified-Since") or "")
        if since is not None and last_modified <= since:
            return 304
    return None


def if_range_allows(value, etag, last_modified):
    """Whether a ``Range`` is honoured under ``If-Range: value`` (RFC 7233
    section 3.2); when not, the whole entity is sent with 200.

    ``value`` None (no If-Range) allows. An entity tag must match ``etag``
    (see etag_to_compare) by strong comparison, so weak tags never do,
    quoted or bare; a comma-separated list is accepted so that a filter which masks etags
    (as the encrypter does for If-Match) can send each candidate. An
    HTTP-date must equal ``last_modified`` (whole epoch seconds) exactly.
    Anything else does not match: sending the whole entity is always safe.
    """
    if value is None:
        return True
    value = value.strip()
    if " " not in value or value.startswith(('"', "W/")):
        # entity tags: an HTTP-date always has spaces. Swift sends etags
        # unquoted, so a bare one (as a client echoes it) counts as strong.
        return any(not etags.is_weak(item) and etags.unquote(item) == etag
                   for item in value.split(","))
    date = _http_date(value)
    return date is not None and date == last_modified
