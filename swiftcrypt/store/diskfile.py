"""One data file per object, and a metadata sidecar once it is POSTed.

Data file: ``<body><header JSON, UTF-8><8-byte big-endian header length>
<8-byte magic>``. Body and the PUT's metadata live in one file so that a
single rename replaces both; the header comes after the body because the
etag, size and footers are known only once the body has been read, and the
body is streamed straight to disk. The header carries a random
``version``.

Sidecar (``<hash>.meta`` beside ``<hash>.obj``): a small JSON file holding
the metadata and timestamp of the latest POST, and the ``version`` of the
data file it belongs to. A POST writes only the sidecar, so its cost does
not grow with the object. A sidecar whose version is not the data file's
(left by a crash between a PUT's rename and its removal of the old
sidecar) is ignored.

Every write goes to a temp file in the process's own directory under
``<data_dir>/tmp`` (same filesystem; see TempArea), is fsynced, then renamed
over its path, and the directory is fsynced: a reader sees the old file or
the new one, never a mix, and an interrupted write leaves the old one in
place. Writers and openers hold the object's lock (locks.py) so that data
file and sidecar are read as a pair.
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
import uuid

from swiftcrypt.common.checksums import md5
from swiftcrypt.common.green import off_hub

MAGIC = b"SWCSTOR1"
META_FORMAT = 1
_TRAILER = struct.Struct(">Q8s")
CHUNK = 64 * 1024


class CorruptObject(Exception):
    """An object file does not have the expected layout: ``path`` is the
    file at fault, ``fault`` says what is wrong with it."""

    def __init__(self, path, fault="not in the store's format"):
        self.path = path
        self.fault = fault
        super().__init__("%s: %s" % (path, fault))


def object_path(objects_dir, account, container, obj):
    """Where an object's data file lives: a hash of its name, so that any
    name fits."""
    key = "\x00".join((account, container, obj)).encode("utf-8")
    digest = hashlib.sha256(key).hexdigest()
    return os.path.join(objects_dir, digest[:3], digest + ".obj")


def object_digest(path):
    """The name hash in a data file's path (what its lock is chosen by)."""
    return os.path.basename(path)[:-len(".obj")]


def meta_path(path):
    """The sidecar path of the data file at ``path``."""
    return path[:-len(".obj")] + ".meta"


def new_version():
    """A fresh data-file version: sidecars name the version they belong to."""
    return uuid.uuid4().hex


def _dump(header):
    return json.dumps(header, ensure_ascii=False, sort_keys=True).encode(
        "utf-8", "surrogateescape")


def make_parent(path):
    """Create the directory ``path`` goes in, so that publishing a file
    there is a rename and needs no space."""
    os.makedirs(os.path.dirname(path), exist_ok=True)


def _publish(tmp_path, final_path):
    make_parent(final_path)
    os.rename(tmp_path, final_path)
    fsync_dir(os.path.dirname(final_path))


def fsync_dir(path):
    """fsync a directory so a rename or unlink in it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectWriter:
    """Stream a new object version to a temp file; ``finish`` completes it
    and ``publish`` puts it in place.

    Use as a context manager: leaving the block without ``publish`` removes
    the temp file.
    """

    def __init__(self, tmp_dir):
        # the writer's pid in the name: a process starting up removes only
        # the temp files of writers that are gone (serve --workers)
        fd, self.tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="obj-%d-" % os.getpid(),
                                             suffix=".tmp")
        self._file = os.fdopen(fd, "wb")
        self._md5 = md5()
        self.size = 0
        self.committed = False

    def write(self, chunk):
        """Append body bytes."""
        self._file.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def etag(self):
        """MD5 hex of the body written so far."""
        return self._md5.hexdigest()

    def finish(self, header):
        """Append ``header`` (a JSON-able dict) and fsync: the temp file is
        complete and ready for ``publish`` (done apart so that only the
        rename need happen under the object's lock)."""
        blob = _dump(header)
        self._file.write(blob)
        self._file.write(_TRAILER.pack(len(blob), MAGIC))
        self._file.flush()
        # tens of ms for a large body (its writeback): under serve, not on
        # the hub, which would stop every other request of the process
        off_hub(os.fsync, self._file.fileno())
        self._file.close()

    def publish(self, final_path):
        """Rename the finished file into place and drop the previous
        version's sidecar (the caller holds the object's lock)."""
        _publish(self.tmp_path, final_path)
        self.committed = True
        _unlink(meta_path(final_path))

    def abort(self):
        """Drop the temp file."""
        if not self._file.closed:
            # on a full disk, closing flushes the buffer and fails again;
            # the file is dropped all the same
            with contextlib.suppress(OSError):
                self._file.close()
        _unlink(self.tmp_path, sync=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.committed:
            self.abort()
        return False


def prepare_meta(tmp_dir, version, timestamp, metadata):
    """Write a sidecar holding ``metadata`` and ``timestamp`` for data
    version ``version`` to a fsynced temp file; returns its path, for
    ``publish_meta`` (or ``discard``). All the space a POST needs is taken
    here, before anything changes."""
    blob = _dump({"format": META_FORMAT, "version": version, "timestamp": timestamp,
                  "metadata": metadata})
    fd, tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="meta-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(tmp_path, sync=False)
        raise
    return tmp_path


def publish_meta(tmp_path, path):
    """Rename a prepared sidecar over that of the data file at ``path``
    (the caller holds the object's lock)."""
    _publish(tmp_path, meta_path(path))


def discard(tmp_path):
    """Drop a prepared temp file that was not published."""
    _unlink(tmp_path, sync=False)


_HEADER_KEYS = ("etag", "timestamp", "metadata")


def _load_header(path, blob):
    try:
        header = json.loads(blob.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise CorruptObject(path, "header is not JSON") from None
    if not isinstance(header, dict) or not all(k in header for k in _HEADER_KEYS) \
            or not isinstance(header["metadata"], dict):
        raise CorruptObject(path, "header lacks etag, timestamp or metadata")
    return header


def _read_meta(path):
    side = meta_path(path)
    try:
        with open(side, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        return None
    try:
        meta = json.loads(blob.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise CorruptObject(side, "metadata side file is not JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT \
            or not isinstance(meta.get("metadata"), dict) or "timestamp" not in meta:
        raise CorruptObject(side, "metadata side file is not in the store's format")
    return meta


class ObjectFile:
    """An open object version. Holding it open keeps reading this version
    even if a newer one replaces it meanwhile.

    ``header`` is what requests see: the data file's header with the
    metadata and timestamp of its sidecar, if it has one; ``data_header``
    is the data file's own.
    """

    def __init__(self, fd, data_header, size, sidecar=None, path=None):
        self._fd = fd
        self.path = path
        self.data_header = data_header
        self.header = data_header
        if sidecar is not None and sidecar.get("version") == data_header.get("version"):
            self.header = dict(data_header, timestamp=sidecar["timestamp"],
                               metadata=sidecar["metadata"])
            # a POST's own time has no offset; the PUT's offset was for its time
            self.header.pop("timestamp_offset", None)
        self.size = size

    @property
    def version(self):
        """The data file's version (None for files written before versions)."""
        return self.data_header.get("version")

    @classmethod
    def open(cls, path):
        """Open the object at ``path`` with its sidecar; None if there is
        none. Call with the object's lock held, so the two are a pair."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            total = os.fstat(fd).st_size
            if total < _TRAILER.size:
                raise CorruptObject(path, "shorter than its trailer")
            length, magic = _TRAILER.unpack(os.pread(fd, _TRAILER.size, total - _TRAILER.size))
            body_size = total - _TRAILER.size - length
            if magic != MAGIC:
                raise CorruptObject(path, "bad trailer (no store magic)")
            if body_size < 0:
                raise CorruptObject(path, "bad trailer (header length %d exceeds the file)"
                                    % length)
            header = _load_header(path, os.pread(fd, length, body_size))
            sidecar = _read_meta(path)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, header, body_size, sidecar, path)

    def read_range(self, first, last, chunk=CHUNK):
        """Yield body bytes ``first..last`` inclusive."""
        pos, end = first, last + 1
        while pos < end:
            data = os.pread(self._fd, min(chunk, end - pos), pos)
            if not data:
                raise CorruptObject(self.path, "shorter than its header says")
            pos += len(data)
            yield data

    def close(self):
        """Release the file descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()


def _unlink(path, sync=True):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    if sync:
        fsync_dir(os.path.dirname(path))
    return True


def remove(path, sync=True):
    """Delete an object's data file and sidecar; True if there was a data
    file (the caller holds the object's lock). ``sync=False`` skips the
    directory fsync, for removals that may be redone after a crash."""
    existed = _unlink(path, sync)
    _unlink(meta_path(path), sync)
    return existed


def is_disk_full(err):
    """ENOSPC / EDQUOT: answer 507."""
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


class TempArea:
    """This process's own temp directory under ``root`` (``<data_dir>/tmp``).

    The process holds a flock on it for as long as it lives; a directory
    whose lock is free was left by a process that died (killed mid-write,
    say) and is removed when a store starts, whatever pid it had, so temp
    files never outlive a restart. The scan and the creation happen under
    ``guard_path``'s lock, so that a store starting up never removes the
    directory another one has just made and not yet locked.
    """

    def __init__(self, root, guard_path):
        os.makedirs(root, exist_ok=True)
        guard = os.open(guard_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            _remove_abandoned(root)
            self.path = tempfile.mkdtemp(dir=root, prefix="%d-" % os.getpid())
            self._fd = os.open(self.path, os.O_RDONLY)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        finally:
            os.close(guard)


def _remove_abandoned(root):
    for name in os.listdir(root):
        path = os.path.join(root, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process's
                finally:
                    os.close(fd)
                shutil.rmtree(path, ignore_errors=True)
            elif writer_is_gone(name, mtime=os.lstat(path).st_mtime):
                os.unlink(path)  # a loose file, as older stores left them
        except OSError:
            pass


def writer_is_gone(name, now=None, stale_after=3600.0, mtime=None):
    """Whether temp file ``name`` (``obj-<pid>-....tmp``) was left by a
    process that no longer runs. A name without a pid (an older store's)
    counts as gone once ``stale_after`` seconds old."""
    parts = name.split("-")
    if len(parts) >= 3 and parts[0] == "obj" and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False
    if mtime is None:
        return True
    return (now if now is not None else time.time()) - mtime >= stale_after
