"""The visitor-state probe site: HTTPS on loopback, two sites (127.0.0.1 and localhost, one server).

A session on `/probe` first READS every channel a visitor leaves state in (and reports what it read to
`/report`), then WRITES every one of them. Run twice on one warm tab, the second report must read as a
first visit. The server also keeps its own view, per phase (set by the test before each session):
the cookies each request carried, the HTTP-cache revalidations and hits, and the connection and TLS
session every request came on (each connection gets an id; `session_reused` is the TLS resumption).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

from traffic_tool.local.throwaway_pki import server_context

_PROBE_JS = r"""
const B = %(other)s;
const idb = (write) => new Promise(res => {
  const q = indexedDB.open('probe', 1);
  q.onupgradeneeded = () => q.result.createObjectStore('s');
  q.onerror = () => res('error');
  q.onsuccess = () => {
    const db = q.result, tx = db.transaction('s', write ? 'readwrite' : 'readonly'), s = tx.objectStore('s');
    if (write) { s.put('1', 'k'); tx.oncomplete = () => { db.close(); res(null); }; return; }
    const g = s.get('k');
    g.onsuccess = () => { db.close(); res(g.result === undefined ? null : g.result); };
    g.onerror = () => { db.close(); res('error'); };
  };
});
(async () => {
  const out = {};
  out.cookie = document.cookie;
  out.local = localStorage.getItem('k');
  out.session = sessionStorage.getItem('k');
  out.name = window.name;
  out.history = history.length;
  out.idb = await idb(false);
  out.cache_api = (await caches.keys()).length;
  const sw = navigator.serviceWorker;
  out.service_workers = sw ? (await sw.getRegistrations()).length : -1;
  out.permission = (await navigator.permissions.query({name: 'geolocation'})).state;
  out.viewport = innerWidth;
  const bc = new BroadcastChannel('probe');
  out.broadcast = await new Promise(res => {
    bc.onmessage = e => res(e.data); bc.postMessage('anyone?'); setTimeout(() => res(null), 300);
  });
  try {
    const w = new SharedWorker('/shared.js');
    window.__keep = w;
    out.shared_worker = await new Promise(res => {
      w.port.onmessage = e => res(e.data); w.port.start(); setTimeout(() => res('timeout'), 1500);
    });
  } catch (e) { out.shared_worker = 'error: ' + e; }
  await fetch('/cached');
  await fetch('/etag');
  out.third_party = await new Promise(res => {
    addEventListener('message', e => { if (e.origin === B) res(e.data); });
    const f = document.createElement('iframe'); f.src = B + '/frame'; document.body.appendChild(f);
    setTimeout(() => res('timeout'), 3000);
  });
  // ---- write every channel ----
  document.cookie = 'first=1; SameSite=Lax';
  document.cookie = 'cross=1; SameSite=None; Secure';
  localStorage.setItem('k', '1');
  sessionStorage.setItem('k', '1');
  window.name = 'visited';
  await idb(true);
  await (await caches.open('probe')).put('/x', new Response('1'));
  try { await navigator.serviceWorker.register('/sw.js'); out.sw_register = 'registered'; }
  catch (e) { out.sw_register = 'refused'; }
  bc.onmessage = e => { if (e.data === 'anyone?') bc.postMessage('an earlier session answered'); };
  history.pushState({}, '', '?pushed');
  await fetch('/report', {method: 'POST', body: JSON.stringify(out)});
  const d = document.createElement('div'); d.id = 'done'; document.body.appendChild(d);
})();
"""

_FRAME_JS = r"""
(() => {
  const r = {cookie: document.cookie};
  try { r.local = localStorage.getItem('k'); localStorage.setItem('k', '1'); }
  catch (e) { r.local = 'error'; }
  document.cookie = 'part=1; SameSite=None; Secure; Partitioned';
  parent.postMessage(r, '*');
})();
"""

_SHARED_JS = "let n = 0; onconnect = e => { n += 1; e.ports[0].postMessage(n); };"


@dataclass
class Seen:
    phase: int
    host: str
    path: str
    connection: int
    tls_resumed: bool
    cookie: str
    if_none_match: str | None


@dataclass
class ProbeState:
    phase: int = 0
    seen: list[Seen] = field(default_factory=list)
    reports: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class VisitorProbeSite:
    def __init__(self, leaf: trustme.LeafCert) -> None:
        self.state = ProbeState()
        self.port = 0
        handler = _handler(self.state, lambda: self.port)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.server.socket = server_context(leaf).wrap_socket(
            self.server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> VisitorProbeSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def probe_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/probe"

    def begin(self, phase: int) -> None:
        with self.state.lock:
            if phase == 1:
                self.state.seen.clear()
                self.state.reports.clear()
            self.state.phase = phase

    def report(self, phase: int) -> dict[str, Any]:
        return self.state.reports[phase]

    def seen(self, phase: int, path: str | None = None) -> list[Seen]:
        with self.state.lock:
            return [s for s in self.state.seen if s.phase == phase and (path is None or s.path == path)]


def _handler(state: ProbeState, port: Any) -> type[BaseHTTPRequestHandler]:
    connections = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the server tags each connection

        def setup(self) -> None:
            super().setup()
            self.connection_id = next(connections)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _note(self) -> None:
            resumed = bool(getattr(self.connection, "session_reused", False))
            with state.lock:
                state.seen.append(Seen(state.phase, self.headers.get("Host", ""), self.path.split("?")[0],
                                       self.connection_id, resumed, self.headers.get("Cookie", ""),
                                       self.headers.get("If-None-Match")))  # fmt: skip

        def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._note()
            path = self.path.split("?")[0]
            other = json.dumps(f"https://localhost:{port()}")
            if path == "/probe":
                script = _PROBE_JS % {"other": other}
                page = f"<!doctype html><title>probe</title><body><script>{script}</script>"
                self._send(200, page.encode(), "text/html",
                           {"Set-Cookie": "server=1; SameSite=None; Secure; Path=/"})  # fmt: skip
            elif path == "/frame":
                page = f"<!doctype html><body><script>{_FRAME_JS}</script>"
                self._send(200, page.encode(), "text/html",
                           {"Set-Cookie": "third=1; SameSite=None; Secure; Partitioned; Path=/"})  # fmt: skip
            elif path == "/shared.js":
                self._send(200, _SHARED_JS.encode(), "text/javascript")
            elif path == "/sw.js":
                self._send(200, b"", "text/javascript")
            elif path == "/cached":
                self._send(200, b"cached", "text/plain", {"Cache-Control": "max-age=600"})
            elif path == "/etag":
                if self.headers.get("If-None-Match") == '"v1"':
                    self.send_response(HTTPStatus.NOT_MODIFIED)
                    self.send_header("ETag", '"v1"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(200, b"etag", "text/plain", {"ETag": '"v1"', "Cache-Control": "no-cache"})
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            self._note()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/report":
                with state.lock:
                    state.reports[state.phase] = json.loads(body)
            self._send(204 if self.path == "/report" else 404, b"", "text/plain")

    return Handler
