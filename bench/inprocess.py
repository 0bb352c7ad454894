"""In-process measurements: the filters over a MemoryBackend, no sockets.

Configurations are interleaved (their order rotates every round) so that
drift in the machine's speed hits all of them alike; figures are medians.
"""

import os
import statistics
import time

from swiftcrypt.common.checksums import md5_hex

from . import client, pipelines
from .backend import json_listing

OBJ = "/v1/a/c/o"
CONTAINER = "/v1/a/listing"


def random_data(size):
    # os.urandom of a huge size is slow; repeat a random 1 MiB block with a
    # varying prefix so that no two MiB are alike for MD5.
    block = os.urandom(1 << 20)
    if size <= len(block):
        return block[:size]
    parts = []
    for i in range((size + len(block) - 1) >> 20):
        parts.append(i.to_bytes(8, "big") + block[8:])
    return b"".join(parts)[:size]


def _iterations(size):
    # enough requests per sample that one sample is not all timer noise
    return max(1, min(500, (4 << 20) // max(size, 1)))


def _rotated(names, i):
    k = i % len(names)
    return names[k:] + names[:k]


def measure_objects(names, sizes, rounds, data, progress=None, chunk_size=65536):
    """PUT and GET of each size: ``{op: {name: {size: [seconds per request]}}}``."""
    apps = {name: pipelines.make(name, chunk_size=chunk_size)[0] for name in names}
    out = {op: {name: {size: [] for size in sizes} for name in names}
           for op in ("put", "get")}
    for size in sizes:
        iters = _iterations(size)
        for rnd in range(rounds):
            for name in _rotated(list(names), rnd):
                app = apps[name]
                t0 = time.perf_counter()
                for _ in range(iters):
                    status, _h = client.put(app, OBJ, data, size)
                t1 = time.perf_counter()
                if not status.startswith("201"):
                    raise RuntimeError("%s PUT %d: %s" % (name, size, status))
                for _ in range(iters):
                    status, _h, n, _b = client.get(app, OBJ)
                t2 = time.perf_counter()
                if n != size:
                    raise RuntimeError("%s GET %d: %s, %d bytes" % (name, size, status, n))
                out["put"][name][size].append((t1 - t0) / iters)
                out["get"][name][size].append((t2 - t1) / iters)
                if progress is not None:
                    progress.step("%s %s" % (name, _human(size)))
    return out


def encrypted_listing(entries):
    """A JSON listing of ``entries`` objects whose hashes are encrypted as
    swiftcrypt writes them (Swift writes the same format); returns
    ``(listing bytes, [plaintext etags])``."""
    from swiftcrypt.crypto import cryptometa
    from swiftcrypt.keymasters.config_keymaster import CALLBACK

    seen = {}

    def capture(environ, start_response):
        seen["fetch"] = environ[CALLBACK]
        start_response("200 OK", [])
        return [b""]

    km = pipelines.build("swiftcrypt", capture)  # keymaster in front of encryption
    km(client.environ("HEAD", CONTAINER + "/x"), lambda *a: None)
    keys = seen["fetch"]()
    container_key, key_id = keys["container"], keys["id"]
    etags = [md5_hex(b"%d" % i) for i in range(entries)]
    # as written by a PUT: each entry's key id names its own object path
    prefix = key_id["path"].rsplit("/", 1)[0]
    pairs = [("obj-%06d" % i, cryptometa.encrypt_value(
        etag.encode("ascii"), container_key,
        key_id=dict(key_id, path="%s/obj-%06d" % (prefix, i))))
        for i, etag in enumerate(etags)]
    return json_listing(pairs), etags


def measure_listing(names, entries, rounds, progress=None):
    """Container GET of a listing of ``entries``: ``{name: [seconds]}``."""
    listing, etags = encrypted_listing(entries)
    apps = {}
    for name in names:
        app, backend = pipelines.make(name)
        backend.listings[CONTAINER] = listing
        apps[name] = app
    out = {name: [] for name in names}
    for rnd in range(rounds):
        for name in _rotated(list(names), rnd):
            t0 = time.perf_counter()
            status, _h, _n, body = client.get(apps[name], CONTAINER, keep=True,
                                              query="format=json")
            out[name].append(time.perf_counter() - t0)
            if rnd == 0 and name != "none":
                check_listing(name, body, etags)
            if progress is not None:
                progress.step("listing %s" % name)
    return out


def check_listing(name, body, etags):
    import json

    got = [entry["hash"] for entry in json.loads(body)]
    if got != etags:
        raise RuntimeError("%s decrypted the listing wrongly" % name)


def summarize(samples):
    return statistics.median(samples) if samples else None


def _human(size):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return "%d %s" % (size >> shift, unit)
    return "%d B" % size
