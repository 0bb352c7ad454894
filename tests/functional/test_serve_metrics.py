"""`swiftcrypt serve` sends statsd metrics, with Swift's option names in
its encryption filter section, to a real UDP socket: the objects it
encrypted and decrypted and their bytes."""

import socket
import time
import uuid

from tests.functional.conftest import STANDALONE, start_server


def test_serve_sends_statsd_lines(tmp_path, http):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    marker = "use = egg:swiftcrypt#encryption\n"
    text = open(STANDALONE).read()
    assert marker in text
    conf = tmp_path / "metrics.conf"
    conf.write_text(text.replace(marker, marker + (
        "log_statsd_host = 127.0.0.1\nlog_statsd_port = %d\n"
        "log_statsd_metric_prefix = standalone\n" % sock.getsockname()[1])))
    srv = start_server(tmp_path / "data", tmp_path / "server.log", "--config", str(conf))
    try:
        url = "%s/v1/AUTH_test/c-%s" % (srv.url, uuid.uuid4().hex[:12])
        assert http.put(url).status_code == 201
        body = b"metered " * 1000
        assert http.put(url + "/o", data=body).status_code == 201
        assert http.get(url + "/o").content == body
        lines, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline and len(lines) < 4:
            try:
                lines.append(sock.recv(65536).decode())
            except socket.timeout:
                pass
    finally:
        assert srv.stop() == 0
        sock.close()
    assert "standalone.swiftcrypt.encrypted.requests:1|c" in lines
    assert "standalone.swiftcrypt.encrypted.bytes:%d|c" % len(body) in lines
    assert "standalone.swiftcrypt.decrypted.requests:1|c" in lines
    assert "standalone.swiftcrypt.decrypted.bytes:%d|c" % len(body) in lines
