"""N 1 KiB requests through one pipeline, for instruction counts.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.percall PIPELINE put|get N [same|distinct]

Instructions per request are the difference of two runs (say N=100 and
N=600) over the difference in N: start-up and warm-up cancel out, and a
count does not depend on the machine's load as a time does (set
PYTHONHASHSEED=0 for runs that repeat to the instruction). ``same``: every
request names one object (the in-process bench's case); ``distinct``: each
names a new object of one container (GETs read objects PUT beforehand).
"""

import sys

from . import client, pipelines

WARMUP = 50
DISTINCT = 700  # objects a distinct run may name: N up to DISTINCT - WARMUP


def run(name, op, n, objects="same"):
    """Make the pipeline, warm it up, then send ``n`` requests."""
    if op not in ("put", "get") or objects not in ("same", "distinct"):
        raise ValueError("op is put or get, objects same or distinct")
    if objects == "distinct" and n > DISTINCT - WARMUP:
        raise ValueError("at most %d distinct objects" % (DISTINCT - WARMUP))
    app, _backend = pipelines.make(name)
    data = bytes(range(256)) * 4
    paths = ["/v1/a/c/o"] * DISTINCT if objects == "same" else \
        ["/v1/a/c/o%d" % i for i in range(DISTINCT)]
    for path in paths[:WARMUP]:
        _put(app, path, data)
    for path in paths[:WARMUP]:
        _put(app, path, data) if op == "put" else _get(app, path)
    if op == "get":
        for path in paths[WARMUP:]:  # as many whatever n is: they cancel out
            _put(app, path, data)
    for path in paths[WARMUP:WARMUP + n]:
        _put(app, path, data) if op == "put" else _get(app, path)


def _put(app, path, data):
    status, _headers = client.put(app, path, data)
    if not status.startswith("201"):
        raise RuntimeError("PUT %s: %s" % (path, status))


def _get(app, path):
    status, _headers, length, _body = client.get(app, path)
    if length != 1024:
        raise RuntimeError("GET %s: %s, %d bytes" % (path, status, length))


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
