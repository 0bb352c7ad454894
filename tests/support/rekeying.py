"""Helpers shared by the re-key suites (standalone, kms, migration): an
in-process request with a body, and the counts of the tool's summary line."""

import io

from swiftcrypt.common.wsgiclient import call


def request(app, method, account, *parts, headers=(), body=None, query="", environ=None):
    """Call ``app`` for ``/v1/<account>/<parts...>``; the response carries
    its whole body as ``.data``."""
    path = "/".join(("/v1", account) + parts)
    headers = list(headers)
    stream = None
    if body is not None:
        stream = io.BytesIO(body)
        headers.append(("Content-Length", str(len(body))))
    resp = call(app, method, path, headers, query=query, body=stream, environ=environ)
    resp.data = resp.read(limit=1 << 30)
    return resp


def summary_counts(out):
    """``{"re-keyed": n, ...}`` from the last summary line in ``out``."""
    line = [ln for ln in out.splitlines() if "scanned" in ln][-1]
    counts = {}
    for item in line.split(": ", 1)[1].split(", "):
        words = item.rsplit(" ", 1)
        counts[words[0]] = int(words[1])
    return counts
