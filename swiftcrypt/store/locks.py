"""Per-object locks, so that an object's data file, its metadata sidecar
and its listing row change together.

A fixed set of lock files under ``<data_dir>/locks`` is shared by all
objects (an object's lock is chosen by its name hash), so the set never
grows. ``flock`` on a fresh descriptor per acquisition excludes other
threads and other processes alike (several workers may serve one data
dir). Critical sections are short and do no network I/O, so under
eventlet no greenthread switch can happen while one is held.
"""

import contextlib
import fcntl
import os

STRIPES = 256


class ObjectLocks:
    """The lock files of one data dir."""

    def __init__(self, lock_dir):
        self.lock_dir = lock_dir
        os.makedirs(lock_dir, exist_ok=True)

    def _path(self, digest):
        return os.path.join(self.lock_dir, "%02x.lock" % (int(digest[:4], 16) % STRIPES))

    @contextlib.contextmanager
    def hold(self, digest):
        """Hold the lock for the object whose name hash is ``digest`` (hex)."""
        fd = os.open(self._path(digest), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
