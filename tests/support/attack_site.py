"""The allowed site of the egress tests: pages that try to reach the canaries every way a page can.

Served on 127.0.0.1 (the only address the tests' policy allows). Pages, worker
scripts and redirect Locations come from the vector corpus
(`tests.support.egress_vectors`), already filled in with the canaries'
addresses; Locations are sent byte for byte as written, so odd spellings reach
the browser unchanged.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BIG_MB = 100
_CHUNK = b"x" * 65536


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class AttackSite:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.pages: dict[str, str] = {}
        self.scripts: dict[str, str] = {}
        self.locations: dict[str, str] = {}
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self.server = _Server((host, port), _handler(self))
        self.host = host
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def origin(self, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}"

    def seen(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for p in self.paths if p.startswith(prefix))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(site: AttackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
                  headers: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
            self.send_response_only(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in headers or []:
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def do_POST(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            with site._lock:
                site.paths.append(self.path)
            parts = urlsplit(self.path)
            segments = parts.path.strip("/").split("/")
            kind, name = segments[0], "/".join(segments[1:])
            if kind == "v" and name in site.pages:
                self._send(200, site.pages[name].encode())
            elif kind == "js" and name in site.scripts:
                self._send(200, site.scripts[name].encode(), "text/javascript")
            elif kind == "r" and len(segments) == 3 and segments[2] in site.locations:
                self._send(int(segments[1]), headers=[("Location", _raw(site.locations[segments[2]]))])
            elif kind == "refresh" and name in site.locations:
                refresh = f"0;url={_raw(site.locations[name])}"
                self._send(200, b"<p>refreshing</p>", headers=[("Refresh", refresh)])
            elif kind == "big":
                self._big(min(int(parse_qs(parts.query).get("mb", ["1"])[0]), MAX_BIG_MB))
            else:
                self._send(200, b"<html><body><p id=ok>ok</p></body></html>")

        def _big(self, mb: int) -> None:
            self.send_response_only(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(mb * 16 * len(_CHUNK)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(mb * 16):
                    self.wfile.write(_CHUNK)

    return Handler


def _raw(value: str) -> str:
    """A header value's UTF-8 bytes, as http.server (which writes latin-1) will put them on the wire."""
    return value.encode("utf-8").decode("latin-1")
