"""Several worker processes serving one listening socket, as Swift's proxy
does with ``workers``: a process of eventlet green threads uses one core,
so a proxy spreads over cores by forking after it binds.

The parent only supervises: it starts the workers, waits until each has
loaded the pipeline (or reports the first one's start-up error, once),
starts a replacement for a worker that dies, and on SIGTERM/SIGINT stops
them all. Workers load the pipeline after the fork, so no SQLite
connection or other handle is ever shared between processes.
"""

import os
import signal

_READY = b"ready\n"
_ERROR = b"error "


def parse_workers(text, cpu_count=None):
    """``--workers``: a positive number, or ``auto`` for one per CPU."""
    text = str(text).strip().lower()
    if text == "auto":
        return max(1, cpu_count or os.cpu_count() or 1)
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError("--workers must be a positive number or 'auto', not %r" % text)
    return count


class Supervisor:
    """Fork ``count`` workers that each run ``child(report)`` and exit with
    its return value. ``report`` is called with None once the worker is
    ready to serve, or with a one-line start-up error message."""

    RESPAWN_DELAY = 1.0
    POLL = 0.1

    def __init__(self, count, child, logger, sleep):
        self.count = count
        self.child = child
        self.log = logger
        self.sleep = sleep  # an unpatched time.sleep: the parent runs no hub
        self.pids = set()
        self._stop = []
        self._read_fd, self._write_fd = os.pipe()
        self._pending = b""  # a partial line read from the pipe

    def _spawn(self):
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(self._read_fd)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                status = self.child(self._report)
            except BaseException as err:  # say why, or the parent can only guess
                try:
                    self._report("worker %d failed: %s: %s" % (
                        os.getpid(), type(err).__name__, err))
                except OSError:
                    pass
            finally:
                os._exit(status)  # never back into the parent's code
        self.pids.add(pid)
        return pid

    def _report(self, error):
        # one write of less than PIPE_BUF bytes: never interleaved
        line = _READY if error is None else (
            _ERROR + error.replace("\n", " ").encode("utf-8", "replace")[:3000] + b"\n")
        os.write(self._write_fd, line)

    def start(self):
        """Start the workers one after another, each once the one before
        is ready (a fresh data dir is set up once, not raced); None when
        all are ready, else the first start-up error (every worker is then
        stopped)."""
        def on_signal(signum, _frame):
            self._stop.append(signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        os.set_blocking(self._read_fd, False)
        for _ in range(self.count):
            if self._stop:
                break
            self._spawn()
            error = self._wait_ready()
            if error is not None:
                self.stop()
                return error
        return None

    def _wait_ready(self):
        while not self._stop:
            line = self._next_line()
            if line is not None:
                if line == _READY.strip():
                    return None
                return line[len(_ERROR):].decode("utf-8", "replace")
            for pid, status in self._reap():  # died: its reason may be in the pipe
                line = self._next_line()
                if line is not None and line.startswith(_ERROR):
                    return line[len(_ERROR):].decode("utf-8", "replace")
                return "worker %d exited (%s) before it was ready" % (pid, status)
            self.sleep(self.POLL / 10)
        return None

    def _next_line(self):
        """The next complete line a worker reported, or None for now."""
        while b"\n" not in self._pending:
            try:
                data = os.read(self._read_fd, 4096)
            except BlockingIOError:
                return None
            if not data:
                return None
            self._pending += data
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def run(self):
        """Supervise until SIGTERM or SIGINT, then stop the workers."""
        while not self._stop:
            self._drain()
            for pid, status in self._reap():
                self.log.warning("worker %d exited (%s); starting another", pid, status)
                self.sleep(self.RESPAWN_DELAY)  # a worker dying at once must not spin
                if not self._stop:
                    self._spawn()
            self.sleep(self.POLL)
        self.log.info("stopping %d workers on signal %s", len(self.pids), self._stop[0])
        self.stop()
        return 0

    def _drain(self):
        # replacements report too; read their lines so the pipe never fills
        # (through _next_line: a line split across reads stays whole)
        while True:
            line = self._next_line()
            if line is None:
                return
            if line.startswith(_ERROR):
                self.log.error("a replacement worker could not start: %s",
                               line[len(_ERROR):].decode("utf-8", "replace"))

    def _reap(self):
        out = []
        for pid in list(self.pids):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, -1
            if done:
                self.pids.discard(pid)
                out.append((pid, _describe(status)))
        return out

    def stop(self, grace=15.0):
        """SIGTERM every worker; SIGKILL those still there after ``grace``."""
        for pid in self.pids:
            _signal(pid, signal.SIGTERM)
        waited = 0.0
        while self.pids and waited < grace:
            self._reap()
            self.sleep(self.POLL)
            waited += self.POLL
        for pid in self.pids:
            _signal(pid, signal.SIGKILL)
        while self.pids:
            self._reap()
            self.sleep(self.POLL)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _describe(status):
    if status < 0:
        return "unknown status"
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "status %d" % os.WEXITSTATUS(status)
