"""A loopback HTTP proxy in front of a real server, for fault tests.

    proxy = FaultProxy(barbican.endpoint).start()
    proxy.endpoint                      # give this to the client instead
    proxy.fail(secret_id, 503)          # requests whose path holds it get 503
    proxy.hang(secret_id)               # ... or no answer until stop()
    proxy.count("/secrets/" + key_id)   # requests forwarded whose path holds it
    proxy.stop()

Everything else is forwarded to the real server unchanged (one upstream
connection per request). The 503 body is JSON without Barbican's
``title`` (what a load balancer or an auth filter in front of Barbican
answers), which barbicanclient cannot parse: the client then fails with
no HTTP error of its own, the case that needs each call's own status.

The proxy runs in a process of its own (this module as a script), so
that nothing done to the test process (eventlet's monkey patching, a
busy hub) can stall it; ``fail``, ``hang`` and ``count`` reach it through
control paths under ``/__faultproxy/`` on its own port.
"""

import http.client
import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.parse

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
        "upgrade", "trailer"}
_CONTROL = "/__faultproxy/"


class FaultProxy:
    """The test's handle on a proxy process (started by ``start``)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self._process = None
        self._port = None

    def _control(self, action, **params):
        conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
        try:
            conn.request("GET", _CONTROL + action + "?" + urllib.parse.urlencode(params))
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError("fault proxy %s: %s %r" % (action, resp.status, body))
            return json.loads(body)
        finally:
            conn.close()

    def fail(self, fragment, status):
        self._control("fault", fragment=fragment, fault=str(status))

    def hang(self, fragment):
        self._control("fault", fragment=fragment, fault="hang")

    def count(self, fragment, method="GET"):
        return self._control("count", fragment=fragment, method=method)["count"]

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self._port

    def start(self):
        self._process = subprocess.Popen(
            [sys.executable, __file__, self.upstream], stdout=subprocess.PIPE, text=True)
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("fault proxy did not start: %r" % line)
        self._port = int(line)
        return self

    def stop(self):
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process.stdout.close()
            self._process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(upstream):
    """Run the proxy (in its own process); print its port."""
    parsed = urllib.parse.urlsplit(upstream)
    target = (parsed.hostname, parsed.port)
    faults = {}     # path fragment -> status, or "hang"
    forwarded = []  # (method, path) of each request sent upstream
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, status, data, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _control(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            action = url.path[len(_CONTROL):]
            if action == "fault":
                fault = query["fault"]
                faults[query["fragment"]] = fault if fault == "hang" else int(fault)
                return self._reply(200, b"{}")
            if action == "count":
                with lock:
                    n = sum(1 for m, p in forwarded
                            if m == query["method"] and query["fragment"] in p)
                return self._reply(200, json.dumps({"count": n}).encode())
            return self._reply(404, b"{}")

        def _handle(self):
            if self.path.startswith(_CONTROL):
                return self._control()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            for fragment, fault in list(faults.items()):
                if fragment in self.path:
                    if fault == "hang":
                        time.sleep(600)  # until the test kills this process
                        self.close_connection = True
                        return
                    data = json.dumps({"error": {"code": fault, "message": "injected"}})
                    return self._reply(fault, data.encode())
            with lock:
                forwarded.append((self.command, self.path))
            conn = http.client.HTTPConnection(*target, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # upstream down: drop, as it would
            finally:
                conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1])
