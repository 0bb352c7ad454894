"""A token bucket: at most ``rate`` units per second on average, bursts of
up to one second's worth (``--max-ops``, ``--max-bytes`` of the re-key)."""

import time


class TokenBucket:
    """``take(n)`` returns how long to wait before ``n`` units may be used.

    The bucket holds up to ``rate`` tokens and refills at ``rate`` per
    second of ``clock``. A request larger than what is left is granted at
    once but leaves the bucket in debt, so the next requests wait it off:
    a single object larger than a second's byte budget still goes, and the
    average stays at ``rate``. The caller sleeps; the bucket never does,
    so it is tested with a fake clock.
    """

    def __init__(self, rate, clock=time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.clock = clock
        self.tokens = self.rate
        self.stamp = clock()

    def take(self, units=1):
        """Use ``units``; the seconds to wait before using them (0: now)."""
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        wait = 0.0 if self.tokens >= units or self.tokens >= self.rate else (
            (units - self.tokens) / self.rate)
        self.tokens -= units
        return wait
