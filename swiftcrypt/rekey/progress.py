"""The progress line of ``swiftcrypt rekey`` on a terminal: items and
bytes done, the rate, and the time left (from the accounts' object
counts). Nothing at all when not enabled (stderr not a terminal)."""

import time

from swiftcrypt.common.wsgiclient import call


def _amount(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (nbytes, unit)
        nbytes /= 1024.0


def _duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dm%02ds" % (seconds // 60, seconds % 60)


class Progress:
    """One line on ``stream``, redrawn at most every ``every`` seconds."""

    def __init__(self, stream, enabled, clock=time.monotonic, every=0.5):
        self.stream = stream
        self.enabled = enabled
        self.clock = clock
        self.every = every
        self.items = 0
        self.bytes = 0
        self.total = None
        self.started = clock()
        self._drawn_at = None
        self._shown = False

    def expect(self, app, accounts):
        """Add the object counts of ``accounts`` (HEADs) to the total."""
        if not self.enabled or not accounts:
            return
        total = 0
        for account in accounts:
            resp = call(app, "HEAD", "/v1/" + account)
            resp.close()
            count = (resp.header("X-Account-Object-Count") or "").strip()
            if resp.status // 100 != 2 or not count.isdigit():
                return  # no ETA then
            total += int(count)
        self.total = total

    def line(self):
        """The progress text."""
        elapsed = max(self.clock() - self.started, 1e-6)
        rate = self.items / elapsed
        text = "%d%s items, %s rewritten, %.1f items/s, %s/s" % (
            self.items, "/%d" % self.total if self.total else "", _amount(self.bytes),
            rate, _amount(self.bytes / elapsed))
        if self.total and rate > 0 and self.items <= self.total:
            text += ", ETA %s" % _duration((self.total - self.items) / rate)
        return text

    def done(self, result):
        """Count ``result`` (a rekeyrun.Result); redraw if it is time."""
        self.items += 1
        self.bytes += result.size
        if not self.enabled:
            return
        now = self.clock()
        if self._drawn_at is None or now - self._drawn_at >= self.every:
            self._drawn_at = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._shown = True

    def clear(self):
        """Remove the line (before other output)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
