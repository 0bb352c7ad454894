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
"""

import http.client
import http.server
import json
import threading
import urllib.parse

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
        "upgrade", "trailer"}


class FaultProxy:
    def __init__(self, upstream):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.faults = {}    # path fragment -> status, or "hang"
        self.forwarded = []  # (method, path) of each request sent upstream
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = None

    def fail(self, fragment, status):
        self.faults[fragment] = status

    def hang(self, fragment):
        self.faults[fragment] = "hang"

    def count(self, fragment, method="GET"):
        with self._lock:
            return sum(1 for m, p in self.forwarded if m == method and fragment in p)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                for fragment, fault in list(proxy.faults.items()):
                    if fragment in self.path:
                        if fault == "hang":
                            proxy._released.wait(120)
                            self.close_connection = True
                            return
                        data = json.dumps({"error": {"code": fault,
                                                     "message": "injected"}}).encode()
                        self.send_response(fault)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                with proxy._lock:
                    proxy.forwarded.append((self.command, self.path))
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
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

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._released.set()
        if self._server is not None:
            # shutdown() waits for the serving thread without a timeout;
            # bound it, so a stuck handler cannot hang the test run
            stopper = threading.Thread(target=self._server.shutdown, daemon=True)
            stopper.start()
            stopper.join(10)
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
