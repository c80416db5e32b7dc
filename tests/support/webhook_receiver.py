"""A webhook receiver on loopback that checks every delivery's signature as a real receiver would.

`script` says how to answer, one entry per request ("200", "500", … or "hang": read the request and
never answer); past its end it answers 200. Every request is kept with its verdict.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobcore.webhook_signing import SIGNATURE_HEADER, SignatureError, verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    signature_error: str | None
    at: float

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return str(self.payload["event"])


@dataclass
class WebhookReceiver:
    script: list[str] = field(default_factory=list)
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # serve https with this context

    def __post_init__(self) -> None:
        receiver = self
        self._release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)
                    ok, error = True, None
                except SignatureError as exc:
                    ok, error = False, str(exc)
                index = len(receiver.received)
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), body, ok, error, time.time())
                )
                answer = receiver.script[index] if index < len(receiver.script) else "200"
                if answer == "hang":
                    receiver._release.wait(30)
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
