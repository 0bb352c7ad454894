"""``swiftcrypt rekey --state FILE``: where a pass of the re-key is, so
that a run killed and started again resumes there.

A pass goes through its accounts in order, each account's containers in
listing order and each container's objects in listing order. Objects are
finished out of order when several run at once, so a container's position
is a *mark* (every object up to it, in listing order, is finished) plus
the names after it that are finished already; a resumed run lists from
the mark and skips those. An item in flight when the run was killed is
done again: only a HEAD if its rewrite had landed (it is ``current``
then), the rewrite otherwise.

The file is JSON, written whole to a temporary file and renamed over the
old one, so a kill leaves either the old or the new position. It names
the run it belongs to (config, accounts, options); a file of another run
is refused (StateError), never rewritten.
"""

import json
import os
import time

FORMAT = "swiftcrypt-rekey-state"
VERSION = 1


class StateError(Exception):
    """The state file cannot be used (one line saying why)."""


class Position:
    """Where one account is in the pass, and its counts so far."""

    def __init__(self, data=None):
        data = data or {}
        self.finished = bool(data.get("finished", False))
        self.account_meta_done = bool(data.get("account_meta_done", False))
        self.container = data.get("container")  # the container in progress or last done
        self.container_done = bool(data.get("container_done", False))
        self.container_meta_done = bool(data.get("container_meta_done", False))
        self.mark = data.get("mark", "")  # every object <= mark is finished
        self.done_after = set(data.get("done_after", ()))
        self.counts = dict(data.get("counts", {}))
        self.bytes = int(data.get("bytes", 0))
        self.secrets = {k: dict(v) for k, v in data.get("secrets", {}).items()}
        self._started = []  # names in flight or finished past the mark, in listing order

    def to_json(self):
        """The position as a JSON-able dict."""
        return {"finished": self.finished, "account_meta_done": self.account_meta_done,
                "container": self.container, "container_done": self.container_done,
                "container_meta_done": self.container_meta_done, "mark": self.mark,
                "done_after": sorted(self.done_after), "counts": self.counts,
                "bytes": self.bytes, "secrets": self.secrets}

    def passed(self, container):
        """True if ``container`` was finished earlier in the pass (listings
        are in name order, so every container before the current one is)."""
        if self.container is None:
            return False
        return container < self.container or (
            container == self.container and self.container_done)

    def enter(self, container):
        """Start on ``container`` (or go on with it, after a resume)."""
        if container != self.container:
            self.container, self.container_done = container, False
            self.container_meta_done = False
            self.mark, self.done_after = "", set()
        self._started = []

    def leave(self, container):
        """``container`` is finished (every object of it)."""
        self.container, self.container_done = container, True
        self.mark, self.done_after, self._started = "", set(), []

    def is_done(self, name):
        """True if object ``name`` of the current container is finished."""
        return bool(self.mark) and name <= self.mark or name in self.done_after

    def start(self, name):
        """Object ``name`` (next in listing order) is started."""
        self._started.append(name)

    def skip(self, name):
        """Object ``name`` (next in listing order) needs no work in this run:
        finished before a resume, or another process's."""
        self.start(name)
        self.finish(name)

    def finish(self, name):
        """Object ``name`` is finished; the mark moves past every object
        finished without a gap."""
        self.done_after.add(name)
        while self._started and self._started[0] in self.done_after:
            self.mark = self._started.pop(0)
            self.done_after.discard(self.mark)


def identity(config, accounts, **options):
    """What makes a state file this run's: the config's absolute path, the
    account selection and the options that change what a pass does."""
    return dict(config=os.path.abspath(config), accounts=accounts, **options)


class StateFile:
    """The pass's positions per account, kept in ``path``."""

    def __init__(self, path, ident, every=1.0, clock=time.monotonic):
        self.path = path
        self.ident = ident
        self.every = every
        self.clock = clock
        self.positions = {}
        self.resumed = False
        self._saved_at = None
        self._load()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return
        except OSError as err:
            raise StateError("cannot read state file %s: %s" % (self.path, err.strerror))
        except UnicodeDecodeError:
            raise StateError("state file %s is unreadable (not UTF-8 text)" % self.path) from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a re-key state file")
            if data.get("version") != VERSION:
                raise ValueError("unknown version %r" % data.get("version"))
            theirs = data["run"]
            positions = {name: Position(pos) for name, pos in data["accounts"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise StateError("state file %s is unreadable (%s)" % (self.path, err)) from None
        differs = sorted(key for key in set(theirs) | set(self.ident)
                         if theirs.get(key) != self.ident.get(key))
        if differs:
            raise StateError("state file %s belongs to another run (its %s differ%s); use "
                             "another --state file" % (self.path, ", ".join(differs),
                                                      "" if len(differs) > 1 else "s"))
        if all(pos.finished for pos in positions.values()) and data.get("complete"):
            return  # that pass is over: this run starts the next one
        self.positions = positions
        self.resumed = True

    def position(self, account):
        """The Position of ``account`` (a fresh one if it was not started)."""
        return self.positions.setdefault(account, Position())

    def save(self, force=False, complete=False):
        """Write the positions (at most once per ``every`` seconds unless
        ``force``): to a temporary file, synced, renamed over the old."""
        now = self.clock()
        if not force and self._saved_at is not None and now - self._saved_at < self.every:
            return
        self._saved_at = now
        data = {"format": FORMAT, "version": VERSION, "run": self.ident, "complete": complete,
                "accounts": {name: pos.to_json() for name, pos in self.positions.items()}}
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
