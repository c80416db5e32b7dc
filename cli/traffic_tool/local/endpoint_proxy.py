"""The local stand-in for ElastiCache's primary endpoint: one loopback address whose target moves.

Clients connect to the proxy; it forwards to whichever Redis is primary. `switch()` points it at
another node and cuts every open connection, as a failover moves the endpoint's DNS name and drops
the old primary's connections, so clients see errors and reconnect, as they would on AWS.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from traffic_tool.local.redis_process import free_port


class EndpointProxy:
    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="endpoint-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EndpointProxy:
        self._thread.start()
        return self

    def switch(self, target_port: int) -> None:
        with self._lock:
            self.target_port = target_port
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def stop(self) -> None:
        self._stopped.set()
        _close(self._listener)
        self.switch(self.target_port)
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=1.0)
                upstream.settimeout(None)
            except OSError:
                _close(client)  # the node is down: the client sees a refused/reset connection
                continue
            with self._lock:
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        with self._lock:
            self._open -= {src, dst}
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
