"""Canary listeners on addresses the tests' policy denies: every connection they accept is a guard leak.

They count TCP connections, not HTTP requests, so a TLS handshake, a WebSocket
or a half-sent request counts too; they answer with a page whose text a session
must never see.
"""

from __future__ import annotations

import contextlib
import socket
import threading

SECRET = "CANARY-INTERNAL-CONTENT"
_ANSWER = (
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
    f"Content-Length: {len(SECRET) + 30}\r\n\r\n<html><body><p id=c>{SECRET}</p></body></html>"
).encode()


class Canary:
    def __init__(self, host: str, port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host = host
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(2)
            conn.recv(65536)
            conn.sendall(_ANSWER)

    def count(self) -> int:
        with self._lock:
            return self.connections

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
