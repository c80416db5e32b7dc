"""A real HTTP proxy that requires credentials (proxy.py from PyPI: wrong ones get a 407), on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.redis_server import free_port


@contextmanager
def auth_proxy(password: str, user: str = "user") -> Iterator[str]:
    """Yield the proxy's URL while it runs."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(port),
         "--basic-auth", f"{user}:{password}", "--num-workers", "1", "--num-acceptors", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
