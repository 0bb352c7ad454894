"""SQLite for accounts, containers and the object listings.

Object bodies and their metadata live in object files (diskfile.py); this
database holds what listings and account/container requests need. Names
are real text; SQLite's default BINARY collation compares their UTF-8
bytes, which is the order Swift lists in.
"""

import contextlib
import errno
import fcntl
import json
import os
import sqlite3
import threading

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    put_timestamp REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS containers (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    put_timestamp REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS objects (
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    hash TEXT NOT NULL,
    content_type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    delete_at INTEGER,
    PRIMARY KEY (account, container, name)
);
CREATE TABLE IF NOT EXISTS pending (
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (account, container, name)
);
"""

# Made after any migration: an older database gains the column first.
INDEXES = """
CREATE INDEX IF NOT EXISTS objects_delete_at ON objects (delete_at)
    WHERE delete_at IS NOT NULL;
"""

# Rows a client may see: expired objects are gone from listings and stats
# the moment they expire, whether or not the reaper has run.
_LIVE = " AND (delete_at IS NULL OR delete_at > ?)"


def _meta_out(text):
    return json.loads(text)


def _meta_in(meta):
    # ensure_ascii: surrogate-escaped bytes survive as \\udcXX escapes
    return json.dumps(dict(meta), sort_keys=True)


def _window_sql(window):
    """``(where, order)`` SQL for a listing.Window, and the where's args."""
    sql, args = "", []
    if window.lower is not None:
        sql += " AND name %s ?" % (">=" if window.lower_inclusive else ">")
        args.append(window.lower)
    if window.upper is not None:
        sql += " AND name %s ?" % ("<=" if window.upper_inclusive else "<")
        args.append(window.upper)
    return sql, " ORDER BY name DESC" if window.descending else " ORDER BY name", args


# SQLite's result codes (sqlite.org/rescode.html); the sqlite3 module names
# them only from Python 3.11 on, and its errors carry them only from then.
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 11, 13, 26


class BadDatabase(Exception):
    """The listing database cannot be opened; the message says what to do."""


def _is_full(err):
    code = getattr(err, "sqlite_errorcode", None)
    return code == SQLITE_FULL or "database or disk is full" in str(err)


def _damaged(err):
    code = getattr(err, "sqlite_errorcode", None)
    return code in (SQLITE_CORRUPT, SQLITE_NOTADB) or \
        not isinstance(err, sqlite3.OperationalError)


@contextlib.contextmanager
def _init_lock(path):
    """An exclusive lock, across processes, for setting up the DB at ``path``."""
    fd = os.open(path + "-init.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class ListingDB:
    """The listing database. Each method is one short transaction, under a
    lock so one connection can serve several threads."""

    def __init__(self, path):
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._setup(path)
            self.pending_changes()  # reads a table: a damaged file shows here
        except sqlite3.DatabaseError as err:
            if _damaged(err):
                raise BadDatabase(
                    "listing database %s is damaged (%s): restore it from a backup, or move "
                    "it aside and start again to list the objects anew from their files "
                    "(account and container metadata are lost)" % (path, err)) from None
            if _is_full(err):
                raise OSError(errno.ENOSPC, "no space left for %s" % path) from None
            raise BadDatabase("cannot use listing database %s: %s" % (path, err)) from None

    def _setup(self, path):
        # Worker processes (serve --workers) open a new data dir at the same
        # moment; switching to WAL and creating or migrating the schema are
        # not safe to race ("database is locked", a duplicate column), so
        # one process at a time does them.
        with self._lock, _init_lock(path):
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(objects)")}
            if "delete_at" not in columns:  # a database from before expiry
                self._conn.execute("ALTER TABLE objects ADD COLUMN delete_at INTEGER")
            self._conn.executescript(INDEXES)

    def _run(self, fn, durable=False):
        """``fn(conn)`` in one transaction; a full disk raises OSError
        (ENOSPC), as a full disk does for files, and changes nothing.
        ``durable`` fsyncs the commit (synchronous=FULL), so that it
        survives a power failure and not only a killed process."""
        with self._lock:
            try:
                if durable:
                    self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(self._conn)
                    self._conn.execute("COMMIT")
                except BaseException:
                    # SQLite may have rolled back already (a full disk can);
                    # a transaction left open would refuse every later one
                    if self._conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.execute("ROLLBACK")
                    raise
                finally:
                    if durable:
                        self._conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as err:
                if _is_full(err):
                    raise OSError(errno.ENOSPC, "listing database: %s" % err) from None
                raise
            return result

    def close(self):
        """Close the connection."""
        with self._lock:
            self._conn.close()

    # accounts

    def get_account(self, account):
        """``{"put_timestamp", "metadata"}`` or None."""
        def q(c):
            row = c.execute("SELECT put_timestamp, metadata FROM accounts WHERE name = ?",
                            (account,)).fetchone()
            return None if row is None else {
                "put_timestamp": row["put_timestamp"], "metadata": _meta_out(row["metadata"])}
        return self._run(q)

    def account_names(self):
        """Every account the store holds (created, or with a container),
        in listing order."""
        return self._run(lambda c: [row[0] for row in c.execute(
            "SELECT name FROM accounts UNION SELECT account FROM containers ORDER BY 1")])

    def ensure_account(self, account, timestamp):
        """Create the account if missing; True if it was created."""
        def q(c):
            cur = c.execute("INSERT OR IGNORE INTO accounts (name, put_timestamp) VALUES (?, ?)",
                            (account, timestamp))
            return cur.rowcount == 1
        return self._run(q)

    def set_account_meta(self, account, metadata):
        """Replace the account's metadata."""
        self._run(lambda c: c.execute("UPDATE accounts SET metadata = ? WHERE name = ?",
                                      (_meta_in(metadata), account)))

    def delete_account(self, account):
        """``"deleted"``, ``"missing"`` or ``"not_empty"``."""
        def q(c):
            if c.execute("SELECT 1 FROM containers WHERE account = ? LIMIT 1",
                         (account,)).fetchone():
                return "not_empty"
            cur = c.execute("DELETE FROM accounts WHERE name = ?", (account,))
            return "deleted" if cur.rowcount else "missing"
        return self._run(q)

    def account_stats(self, account, now):
        """``(container_count, object_count, bytes_used)`` at time ``now``."""
        def q(c):
            containers = c.execute("SELECT COUNT(*) FROM containers WHERE account = ?",
                                   (account,)).fetchone()[0]
            objects, used = c.execute(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM objects WHERE account = ?"
                + _LIVE, (account, now)).fetchone()
            return containers, objects, used
        return self._run(q)

    def fetch_containers(self, account, window, count, now):
        """Listing rows ``{"name", "count", "bytes", "last_modified"}`` in a
        listing.Window, counting the objects live at ``now``."""
        def q(c):
            where, order, args = _window_sql(window)
            rows = c.execute(
                "SELECT name, put_timestamp FROM containers WHERE account = ?" + where
                + order + " LIMIT ?", [account] + args + [count]).fetchall()
            out = []
            for row in rows:
                n, used, newest = c.execute(
                    "SELECT COUNT(*), COALESCE(SUM(bytes), 0), MAX(timestamp) FROM objects"
                    " WHERE account = ? AND container = ?" + _LIVE,
                    (account, row["name"], now)).fetchone()
                out.append({"name": row["name"], "count": n, "bytes": used,
                            "timestamp": max(row["put_timestamp"], newest or 0)})
            return out
        return self._run(q)

    # containers

    def get_container(self, account, container):
        """``{"put_timestamp", "metadata"}`` or None."""
        def q(c):
            row = c.execute(
                "SELECT put_timestamp, metadata FROM containers WHERE account = ? AND name = ?",
                (account, container)).fetchone()
            return None if row is None else {
                "put_timestamp": row["put_timestamp"], "metadata": _meta_out(row["metadata"])}
        return self._run(q)

    def put_container(self, account, container, timestamp, metadata):
        """Create (True) or update the metadata of (False) a container."""
        def q(c):
            c.execute("INSERT OR IGNORE INTO accounts (name, put_timestamp) VALUES (?, ?)",
                      (account, timestamp))
            cur = c.execute(
                "INSERT OR IGNORE INTO containers (account, name, put_timestamp, metadata)"
                " VALUES (?, ?, ?, ?)", (account, container, timestamp, _meta_in(metadata)))
            if cur.rowcount == 1:
                return True
            c.execute("UPDATE containers SET metadata = ? WHERE account = ? AND name = ?",
                      (_meta_in(metadata), account, container))
            return False
        return self._run(q)

    def ensure_container(self, account, container, timestamp):
        """Create the container (and its account) if missing, without
        metadata; an existing one is left as it is."""
        def q(c):
            c.execute("INSERT OR IGNORE INTO accounts (name, put_timestamp) VALUES (?, ?)",
                      (account, timestamp))
            c.execute("INSERT OR IGNORE INTO containers (account, name, put_timestamp)"
                      " VALUES (?, ?, ?)", (account, container, timestamp))
        self._run(q)

    def delete_container(self, account, container):
        """``"deleted"``, ``"missing"`` or ``"not_empty"``."""
        def q(c):
            if c.execute("SELECT 1 FROM objects WHERE account = ? AND container = ? LIMIT 1",
                         (account, container)).fetchone():
                return "not_empty"
            cur = c.execute("DELETE FROM containers WHERE account = ? AND name = ?",
                            (account, container))
            return "deleted" if cur.rowcount else "missing"
        return self._run(q)

    def container_stats(self, account, container, now):
        """``(object_count, bytes_used)`` of the objects live at ``now``."""
        return tuple(self._run(lambda c: c.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM objects"
            " WHERE account = ? AND container = ?" + _LIVE,
            (account, container, now)).fetchone()))

    # objects

    def put_object(self, account, container, name, size, etag, content_type, timestamp,
                   delete_at=None):
        """Record (or replace) an object's listing row; ``delete_at`` is
        its expiry (epoch seconds) or None."""
        self._run(lambda c: _put_object(c, account, container, name, size, etag,
                                        content_type, timestamp, delete_at))

    def begin_change(self, account, container, name, row):
        """Note the intent to change an object's files and give its listing
        row the values they will have, in one transaction: ``row`` is
        put_object's arguments after the name, or None for a removal.
        end_change clears the intent once the files have changed; an
        intent left by a crash is settled at start-up from the files.
        Committed durably: the files change next, and a power failure
        must not lose the intent (nor the commits before it) once they
        have."""
        def q(c):
            c.execute("INSERT OR REPLACE INTO pending (account, container, name)"
                      " VALUES (?, ?, ?)", (account, container, name))
            if row is None:
                _delete_object(c, account, container, name)
            else:
                _put_object(c, account, container, name, *row)
        self._run(q, durable=True)

    def end_change(self, account, container, name):
        """Clear an object's intent (see begin_change)."""
        self._run(lambda c: c.execute(
            "DELETE FROM pending WHERE account = ? AND container = ? AND name = ?",
            (account, container, name)))

    def pending_changes(self):
        """``(account, container, name)`` of every intent not cleared."""
        return self._run(lambda c: [tuple(row) for row in c.execute(
            "SELECT account, container, name FROM pending").fetchall()])

    def delete_object(self, account, container, name):
        """Drop an object's listing row."""
        self._run(lambda c: _delete_object(c, account, container, name))

    def fetch_objects(self, account, container, window, count, now):
        """Listing rows ``{"name", "bytes", "hash", "content_type", "timestamp"}``
        in a listing.Window, of the objects live at ``now``."""
        def q(c):
            where, order, args = _window_sql(window)
            rows = c.execute(
                "SELECT name, bytes, hash, content_type, timestamp FROM objects"
                " WHERE account = ? AND container = ?" + where + _LIVE + order + " LIMIT ?",
                [account, container] + args + [now, count]).fetchall()
            return [dict(row) for row in rows]
        return self._run(q)

    def expired_objects(self, now, count, account=None, container=None):
        """``(account, container, name)`` of up to ``count`` objects expired
        at ``now``, soonest expired first (optionally of one container)."""
        def q(c):
            where, args = "", [now]
            if account is not None:
                where, args = " AND account = ? AND container = ?", [now, account, container]
            return [tuple(row) for row in c.execute(
                "SELECT account, container, name FROM objects"
                " WHERE delete_at IS NOT NULL AND delete_at <= ?" + where
                + " ORDER BY delete_at LIMIT ?", args + [count]).fetchall()]
        return self._run(q)


def _put_object(c, account, container, name, size, etag, content_type, timestamp,
                delete_at=None):
    c.execute("INSERT OR REPLACE INTO objects"
              " (account, container, name, bytes, hash, content_type, timestamp, delete_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              (account, container, name, size, etag, content_type, timestamp, delete_at))


def _delete_object(c, account, container, name):
    c.execute("DELETE FROM objects WHERE account = ? AND container = ? AND name = ?",
              (account, container, name))
