"""Metrics: counters and timings sent to statsd.

``metrics_for(conf, logger)`` gives a filter its ``Metrics``. Inside a
Swift proxy the filter's logger is Swift's, which already speaks statsd
with Swift's options (``log_statsd_host``, ``log_statsd_port``,
``log_statsd_metric_prefix``, ``log_statsd_default_sample_rate``,
``log_statsd_sample_rate_factor``): metrics go through it. Elsewhere
(``swiftcrypt serve``, where Swift may not be installed) the same options
drive ``StatsdClient``, a small client of ours sending the same UDP lines
(``<prefix>.<name>:<value>|c``, ``|ms`` for timings, ``|@<rate>`` when
sampled). Without ``log_statsd_host`` nothing is sent.

Every name starts with ``swiftcrypt.``; the names are listed in
doc/operations.md. Sending never raises: a metric is not worth a request.
"""

import random
import socket
import time

from swiftcrypt.common import options

PREFIX = "swiftcrypt."


class StatsdClient:
    """Counters and timings over UDP to ``host:port``, Swift's format."""

    def __init__(self, host, port=8125, prefix="", sample_rate=1.0, rate_factor=1.0):
        self.address = (host, port)
        self.prefix = prefix + "." if prefix else ""
        self.sample_rate = sample_rate
        self.rate_factor = rate_factor
        self._sock = None

    def _send(self, name, value, kind, sample_rate=None):
        rate = (self.sample_rate if sample_rate is None else sample_rate) * self.rate_factor
        if rate < 1 and random.random() >= rate:
            return
        line = "%s%s:%s|%s" % (self.prefix, name, value, kind)
        if rate < 1:
            line += "|@%s" % rate
        try:
            if self._sock is None:
                family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._sock.sendto(line.encode("utf-8"), self.address)
        except OSError:  # a lost metric, as UDP may lose it anyway
            pass

    def update_stats(self, name, value, sample_rate=None):
        self._send(name, value, "c", sample_rate)

    def increment(self, name, sample_rate=None):
        self._send(name, 1, "c", sample_rate)

    def timing(self, name, milliseconds, sample_rate=None):
        self._send(name, round(milliseconds, 4), "ms", sample_rate)


class Metrics:
    """What a filter counts; ``sink`` is Swift's logger or a StatsdClient
    (None: nothing is sent)."""

    def __init__(self, sink=None):
        self.sink = sink

    def increment(self, name, count=1):
        if self.sink is None or not count:
            return
        try:
            if count == 1:
                self.sink.increment(PREFIX + name)
            else:
                self.sink.update_stats(PREFIX + name, count)
        except Exception:  # never fail a request for a metric
            pass

    def timing(self, name, seconds):
        if self.sink is None:
            return
        try:
            self.sink.timing(PREFIX + name, seconds * 1000.0)
        except Exception:
            pass

    def timer(self, name):
        """A context manager timing its block as ``name`` (failures too)."""
        return _Timer(self, name)


class _Timer:
    def __init__(self, metrics, name):
        self.metrics = metrics
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.metrics.timing(self.name, time.monotonic() - self.start)
        return False


NONE = Metrics()


def _is_swift_logger(logger):
    return callable(getattr(logger, "increment", None)) and \
        callable(getattr(logger, "timing", None))


def metrics_for(conf, logger=None):
    """The Metrics of a filter configured by ``conf`` whose logger is
    ``logger``; a bad statsd option stops start-up naming it."""
    if logger is not None and _is_swift_logger(logger):
        return Metrics(logger)  # Swift's logger, with Swift's statsd options
    host = (conf.get("log_statsd_host") or "").strip()
    if not host:
        return NONE
    port = options.as_number(conf, "log_statsd_port", 8125, minimum=1, kind=int)
    rate = options.as_number(conf, "log_statsd_default_sample_rate", 1.0, minimum=0)
    factor = options.as_number(conf, "log_statsd_sample_rate_factor", 1.0, minimum=0)
    prefix = ".".join(part for part in (
        (conf.get("log_statsd_metric_prefix") or "").strip(),
        (conf.get("log_name") or "").strip()) if part)
    return Metrics(StatsdClient(host, port, prefix, rate, factor))
