"""A one-line progress bar on stderr (silent when stderr is not a tty
unless forced)."""

import sys
import time


class Progress:
    def __init__(self, total, enabled=None, stream=None):
        self.total = max(1, total)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.label = ""

    def step(self, label="", n=1):
        self.done = min(self.total, self.done + n)
        self.label = label
        self._draw()

    def set_label(self, label):
        self.label = label
        self._draw()

    def _draw(self):
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0
        self.stream.write("\r[%s%s] %3d%% %5.0fs left  %-40.40s" % (
            "#" * filled, "." * (width - filled), 100 * self.done // self.total, eta,
            self.label))
        self.stream.flush()

    def finish(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
