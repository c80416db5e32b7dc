"""A page on loopback the test breaks and repairs: `mode` is "ok", "broken" (500) or "flaky" (the next
request fails, the ones after it pass)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"<!doctype html><html><head><title>check me</title></head><body><h1>ok</h1></body></html>"


class SwitchableSite:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        site = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    site.requests += 1
                    failing = site.mode in ("broken", "flaky")
                    if site.mode == "flaky":
                        site.mode = "ok"
                status, body = (500, b"broken") if failing else (200, PAGE)
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
