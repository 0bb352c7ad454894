"""External servers (Barbican, Keystone) for the integration tests.

Each lives in its own cached virtualenv (``venvs``) and runs as a child
process bound to 127.0.0.1 on a free port, in a directory of the caller's
(a pytest ``tmp_path_factory`` dir), logging to ``<workdir>/server.log``.
See ``barbican.BarbicanServer`` and ``keystone.KeystoneServer``.

This module holds what both share: ``free_port()`` and ``ServerProcess``
(start, wait until it answers HTTP, pause/resume with SIGSTOP/SIGCONT to
simulate a hung server, stop). Start-up failures raise ``ServerError`` with
the tail of the server's log, so the tests that need it fail (never skip).
"""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class ServerError(RuntimeError):
    """A test server could not be set up or started."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_checked(cmd, what, env=None, cwd=None, timeout=300):
    """Run a set-up command; ServerError with its output if it fails."""
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise ServerError("%s timed out after %s s" % (what, timeout)) from err
    if proc.returncode:
        tail = "\n".join(proc.stdout.strip().splitlines()[-30:])
        raise ServerError("%s failed (exit %d):\n%s" % (what, proc.returncode, tail))
    return proc.stdout


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ServerProcess:
    """One server child process in its own process group."""

    def __init__(self, name, cmd, env, cwd, log_path, ready_url, ready_timeout=180):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.cwd = cwd
        self.log_path = str(log_path)
        self.ready_url = ready_url
        self.ready_timeout = ready_timeout
        self.proc = None
        self.paused = False

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError("%s exited with status %s during start-up; log %s:\n%s" % (
                    self.name, self.proc.returncode, self.log_path, tail(self.log_path)))
            try:
                urllib.request.urlopen(self.ready_url, timeout=5).close()
                return
            except urllib.error.HTTPError:
                return  # it answers HTTP: up
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError("%s did not answer %s within %s s; log %s:\n%s" % (
                    self.name, self.ready_url, self.ready_timeout, self.log_path,
                    tail(self.log_path)))
            time.sleep(0.2)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig):
        if self.running:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def pause(self):
        """SIGSTOP the server: it accepts connections but never answers."""
        self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self._signal(signal.SIGCONT)
        self.paused = False

    def stop(self):
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(timeout=15)
        self.proc = None
