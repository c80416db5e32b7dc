"""A loopback HTTP (or HTTPS) server for the sample pages: the site of `traffic-tool demo` and `dev`.

Binary payloads of the heavy page (images, fonts, video) are generated at start,
random so they do not compress: nothing large is committed. Every analytics
beacon a sample page fires goes back to this server (`/g/collect`), which
records it, so a caller can tell what the browser actually sent. The tests' own
pages and routes live in tests/support/fixture_site.py, on top of this one.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol, Self
from urllib.parse import parse_qs, urlsplit

SAMPLE_PAGES = Path(__file__).resolve().parent.parent / "sample_site"

# name -> (content type, size): ≈ 4.2 MB in total, what the heavy page pulls in when unguarded
HEAVY_ASSETS: dict[str, tuple[str, int]] = {
    "hero.jpg": ("image/jpeg", 900_000),
    "gallery-1.png": ("image/png", 600_000),
    "gallery-2.png": ("image/png", 600_000),
    "gallery-3.webp": ("image/webp", 500_000),
    "brand.woff2": ("font/woff2", 250_000),
    "body.woff2": ("font/woff2", 250_000),
    "intro.mp4": ("video/mp4", 1_100_000),
}


def _generated_css() -> bytes:
    head = (
        "@font-face { font-family: Brand; src: url(/assets/brand.woff2) format('woff2'); }\n"
        "@font-face { font-family: Body; src: url(/assets/body.woff2) format('woff2'); }\n"
        ".brand { font-family: Brand, serif; } body { font-family: Body, sans-serif; }\n"
    )
    rules = "".join(
        f".c{i} {{ margin: {i % 7}px; padding: {i % 5}px; color: #{i * 2654435 % 0xFFFFFF:06x}; }}\n"
        for i in range(700)
    )
    return (head + rules).encode()


def _generated_js() -> bytes:
    # ≈ 60 KB of ordinary application code, so the guarded page still has real weight.
    body = "".join(f"function f{i}(a, b) {{ return (a * {i} + b) % {i + 7}; }}\n" for i in range(1500))
    return (body + "window.appReady = f1499(3, 4);\n").encode()


# A stand-in for gtag.js / gtm.js, served at /gtag/js and /gtm.js: it sends a GA4 page_view for its id
# (`ga` or `id`) unless `silent=1`, after `delay` ms, with `gcs` when given, and batches events queued
# through window.ttGtag[id].event(name, params) into one POST, flushed when the page is hidden.
FAKE_TAG_JS = b"""(function () {
  var p = new URL(document.currentScript.src).searchParams;
  var id = p.get('ga') || p.get('id');
  var queue = [];
  function common() {
    return 'v=2&tid=' + id + '&dl=' + encodeURIComponent(location.href)
      + '&dt=' + encodeURIComponent(document.title) + (p.get('gcs') ? '&gcs=' + p.get('gcs') : '');
  }
  function line(en, ep) {
    var s = 'en=' + en;
    for (var k in ep || {}) {
      s += '&' + (typeof ep[k] === 'number' ? 'epn.' : 'ep.') + k + '=' + encodeURIComponent(ep[k]);
    }
    return s;
  }
  function flush() {
    if (queue.length) { navigator.sendBeacon('/g/collect?' + common(), queue.join('\\n')); queue = []; }
  }
  window.ttGtag = window.ttGtag || {};
  window.ttGtag[id] = {event: function (en, ep) { queue.push(line(en, ep)); }, flush: flush};
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') flush();
  });
  if (p.get('silent') !== '1') {
    setTimeout(function () {
      navigator.sendBeacon('/g/collect?' + common() + '&en=page_view');
    }, +(p.get('delay') || 0));
  }
})();
"""
MAX_TAG_PAD = 2_000_000

GENERATED_CSS = _generated_css()
GENERATED_JS = _generated_js()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Chromium drops connections it no longer needs (closed contexts, cancelled media): not an error.
        pass


class SampleSite:
    def __init__(
        self,
        host: str = "127.0.0.1",
        pages: tuple[Path, ...] = (SAMPLE_PAGES,),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Serve the files of `pages` (the first folder holding a name wins) and the generated routes;
        over HTTPS with `tls` (the handshake runs in the request's thread)."""
        self.host = host
        self.pages = tuple(p.resolve() for p in pages)
        self.hits: list[tuple[str, str, str]] = []  # (method, path, body)
        self.assets = {name: os.urandom(size) for name, (_, size) in HEAVY_ASSETS.items()}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = _QuietServer((host, 0), _make_handler(self))
        if tls is not None:
            self.server.socket = tls.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.scheme = "http" if tls is None else "https"
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def find_page(self, name: str) -> Path | None:
        for folder in self.pages:
            file = (folder / name).resolve()
            if file.parent == folder and file.is_file():
                return file
        return None

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def record(self, method: str, path: str, body: str) -> None:
        with self._lock:
            self.hits.append((method, path, body))

    def beacons(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self.hits if urlsplit(path).path.endswith("/collect")]

    def requests_to(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for _, path, _ in self.hits if path.startswith(prefix))

    def extra_route(self, reply: Reply, path: str, query: dict[str, list[str]]) -> bool:
        """A subclass's own GET routes, tried first: True when it answered."""
        return False


class Reply(Protocol):
    """What a route answers through: the request's headers and a complete response."""

    headers: Message

    def send(
        self, status: int, body: bytes, ctype: str = ..., headers: dict[str, str] | None = None
    ) -> None: ...


def _make_handler(site: SampleSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
            site.record("POST", self.path, body)
            self.send(204, b"")

        def do_GET(self) -> None:
            site.record("GET", self.path, "")
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            if site.extra_route(self, path, query):
                return
            if path.endswith("/collect") or path == "/tr":
                self.send(204, b"")
            elif path in ("/gtag/js", "/gtm.js"):  # the fake tag: ?status=404 fails it, ?pad=N weighs it
                code = int(query.get("status", ["200"])[0])
                pad = min(int(query.get("pad", ["0"])[0]), MAX_TAG_PAD)
                body = FAKE_TAG_JS + (b"/*" + b"x" * pad + b"*/" if pad else b"")
                self.send(code, body if code < 400 else b"not found", "text/javascript")
            elif path == "/gen/site.css":
                self.send(200, GENERATED_CSS, "text/css")
            elif path == "/gen/app.js":
                self.send(200, GENERATED_JS, "text/javascript")
            elif path.startswith("/assets/") and path[8:] in site.assets:
                name = path[8:]
                self.send(200, site.assets[name], HEAVY_ASSETS[name][0])
            else:
                file = site.find_page(path.lstrip("/") or "index.html")
                if file is None:
                    self.send(404, b"<html><body>not found</body></html>")
                    return
                ctype = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript"}
                self.send(200, file.read_bytes(), ctype.get(file.suffix, "application/octet-stream"))

    return Handler
