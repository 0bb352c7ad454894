"""prefork.Supervisor's pipe from the workers: a report is one line, but
the parent may read it in pieces."""

import logging
import os

from swiftcrypt.cli.prefork import Supervisor


def _supervisor():
    sup = Supervisor(1, None, logging.getLogger("swiftcrypt.test.prefork"), lambda _s: None)
    os.set_blocking(sup._read_fd, False)  # as start() sets it
    return sup


def _close(sup):
    os.close(sup._read_fd)
    os.close(sup._write_fd)


def test_a_replacement_workers_error_split_across_reads_is_logged_whole(caplog):
    sup = _supervisor()
    try:
        caplog.set_level(logging.ERROR, "swiftcrypt.test.prefork")
        os.write(sup._write_fd, b"ready\nerror worker 12 failed: Config")
        sup._drain()
        os.write(sup._write_fd, b"Error: bad option\nready\nerror second\n")
        sup._drain()
        assert [r.getMessage() for r in caplog.records] == [
            "a replacement worker could not start: worker 12 failed: ConfigError: bad option",
            "a replacement worker could not start: second"]
        sup._drain()  # nothing left, nothing logged again
        assert len(caplog.records) == 2
    finally:
        _close(sup)


def test_the_ready_line_split_across_reads():
    sup = _supervisor()
    try:
        os.write(sup._write_fd, b"rea")
        assert sup._next_line() is None
        os.write(sup._write_fd, b"dy\nerror x")
        assert sup._next_line() == b"ready"
        assert sup._next_line() is None
        os.write(sup._write_fd, b"y\n")
        assert sup._next_line() == b"error xy"
    finally:
        _close(sup)
