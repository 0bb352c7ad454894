"""Read what the object server stored: .data bodies and their xattr metadata."""

import json
import os
import pickle
from urllib.parse import unquote_plus

XATTR = "user.swift.metadata"


def raw_metadata(path):
    """The pickled metadata bytes, joined from user.swift.metadata[N]."""
    chunks = []
    index = 0
    while True:
        name = XATTR + (str(index) if index else "")
        try:
            chunks.append(os.getxattr(path, name))
        except OSError:
            break
        index += 1
    return b"".join(chunks)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def metadata(path):
    """The object server's metadata of ``path`` as {str: str}."""
    # Only files our own test cluster wrote are unpickled here.
    meta = pickle.loads(raw_metadata(path), encoding="bytes")  # noqa: S301
    return {_text(k): _text(v) for k, v in meta.items()}


class Stored:
    def __init__(self, path):
        self.path = path
        self.meta = metadata(path)
        self.name = self.meta.get("name")

    @property
    def body(self):
        with open(self.path, "rb") as fh:
            return fh.read()

    def header(self, name):
        lname = name.lower()
        for key, value in self.meta.items():
            if key.lower() == lname:
                return value
        return None

    def crypto_meta(self, name):
        """Parsed crypto meta of header ``name`` (the part after swift_meta=)."""
        value = self.header(name)
        if value is None:
            return None
        if "; swift_meta=" in value:
            value = value.rsplit("; swift_meta=", 1)[1]
        return json.loads(unquote_plus(value))

    def body_key_path(self):
        meta = self.crypto_meta("X-Object-Sysmeta-Crypto-Body-Meta")
        return meta and meta["key_id"]["path"]


def stored_objects(cluster):
    """Stored for every .data file, newest name wins by file order."""
    return [Stored(p) for p in cluster.object_data_files()]


def wsgi(text):
    """Swift keeps names and header values as WSGI strings (UTF-8 as latin-1)."""
    return text.encode("utf-8").decode("latin-1")


def find(cluster, name):
    """The Stored .data of object ``/<account>/<container>/<object>``."""
    found = [s for s in stored_objects(cluster) if s.name in (name, wsgi(name))]
    assert found, "no .data for %r" % name
    return found[-1]
