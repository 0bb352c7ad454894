"""One file per object: the body, then a JSON header, then a fixed trailer.

Layout: ``<body><header JSON, UTF-8><8-byte big-endian header length>
<8-byte magic>``. Body and metadata live in one file so that a single
rename replaces both; the header comes after the body because the etag,
size and footers are known only once the body has been read, and the body
is streamed straight to disk.

Writes go to a temp file in ``<data_dir>/tmp`` (same filesystem), are
fsynced, then renamed over the object's path, and the directory is
fsynced: a reader sees the old version or the new one, never a mix, and
an interrupted write leaves the old version in place.
"""

import errno
import hashlib
import json
import os
import struct
import tempfile

MAGIC = b"SWCSTOR1"
_TRAILER = struct.Struct(">Q8s")
CHUNK = 64 * 1024


class CorruptObject(Exception):
    """An object file does not have the expected layout."""


def object_path(objects_dir, account, container, obj):
    """Where an object lives: a hash of its name, so that any name fits."""
    key = "\x00".join((account, container, obj)).encode("utf-8")
    digest = hashlib.sha256(key).hexdigest()
    return os.path.join(objects_dir, digest[:3], digest + ".obj")


def fsync_dir(path):
    """fsync a directory so a rename or unlink in it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectWriter:
    """Stream a new object version to a temp file; ``commit`` publishes it.

    Use as a context manager: leaving the block without ``commit`` removes
    the temp file.
    """

    def __init__(self, tmp_dir):
        fd, self.tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="obj-", suffix=".tmp")
        self._file = os.fdopen(fd, "wb")
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.committed = False

    def write(self, chunk):
        """Append body bytes."""
        self._file.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def copy_body_from(self, source):
        """Append the whole body of ObjectFile ``source``."""
        for chunk in source.read_range(0, source.size - 1) if source.size else ():
            self.write(chunk)

    @property
    def etag(self):
        """MD5 hex of the body written so far."""
        return self._md5.hexdigest()

    def commit(self, final_path, header):
        """Append ``header`` (a JSON-able dict), fsync, rename into place."""
        blob = json.dumps(header, ensure_ascii=False, sort_keys=True).encode(
            "utf-8", "surrogateescape")
        self._file.write(blob)
        self._file.write(_TRAILER.pack(len(blob), MAGIC))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        directory = os.path.dirname(final_path)
        os.makedirs(directory, exist_ok=True)
        os.rename(self.tmp_path, final_path)
        self.committed = True
        fsync_dir(directory)

    def abort(self):
        """Drop the temp file."""
        if not self._file.closed:
            self._file.close()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.committed:
            self.abort()
        return False


class ObjectFile:
    """An open object version. Holding it open keeps reading this version
    even if a newer one replaces it meanwhile."""

    def __init__(self, fd, header, size):
        self._fd = fd
        self.header = header
        self.size = size

    @classmethod
    def open(cls, path):
        """Open the object at ``path``; None if there is none."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            total = os.fstat(fd).st_size
            if total < _TRAILER.size:
                raise CorruptObject(path)
            length, magic = _TRAILER.unpack(os.pread(fd, _TRAILER.size, total - _TRAILER.size))
            body_size = total - _TRAILER.size - length
            if magic != MAGIC or body_size < 0:
                raise CorruptObject(path)
            blob = os.pread(fd, length, body_size)
            header = json.loads(blob.decode("utf-8", "surrogateescape"))
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, header, body_size)

    def read_range(self, first, last, chunk=CHUNK):
        """Yield body bytes ``first..last`` inclusive."""
        pos, end = first, last + 1
        while pos < end:
            data = os.pread(self._fd, min(chunk, end - pos), pos)
            if not data:
                raise CorruptObject("object file shorter than its header says")
            pos += len(data)
            yield data

    def close(self):
        """Release the file descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()


def remove(path):
    """Delete an object file; True if there was one."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(os.path.dirname(path))
    return True


def is_disk_full(err):
    """ENOSPC / EDQUOT: answer 507."""
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
