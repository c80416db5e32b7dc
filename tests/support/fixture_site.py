"""The tests' site: the sample site with the fixture pages in front of the sample pages, and test-only routes
(a redirect to any URL, a slow answer, a download, a chosen status, a cookie echo) the product must not ship.
"""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path

from traffic_tool.local.sample_site import HEAVY_ASSETS, SAMPLE_PAGES, Reply, SampleSite

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
MAX_SLOW_S = 30.0

__all__ = ["HEAVY_ASSETS", "PAGES", "FixtureSite"]


class FixtureSite(SampleSite):
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__(host, pages=(PAGES, SAMPLE_PAGES), tls=tls)

    def extra_route(self, reply: Reply, path: str, query: dict[str, list[str]]) -> bool:
        if path.startswith("/redirect/"):
            hops = int(path.rsplit("/", 1)[1] or 0)
            target = f"/redirect/{hops - 1}" if hops > 1 else "/light.html"
            reply.send(302, b"", headers={"Location": target})
        elif path == "/to":  # redirect to any URL the test names: /to?u=http://127.0.0.2:port/...
            reply.send(302, b"", headers={"Location": query["u"][0]})
        elif path == "/slow":
            self.stopping.wait(min(float(query.get("s", ["5"])[0]), MAX_SLOW_S))
            reply.send(200, b"<html><body>slow</body></html>")
        elif path == "/file.bin":
            reply.send(200, os.urandom(64_000), "application/octet-stream",
                       {"Content-Disposition": 'attachment; filename="file.bin"'})  # fmt: skip
        elif path == "/status":
            code = int(query.get("code", ["404"])[0])
            reply.send(code, f"<html><body>status {code}</body></html>".encode())
        elif path == "/cookies.html":
            seen = reply.headers.get("Cookie") or ""
            body = f"<html><body><pre id=seen>{seen}</pre></body></html>".encode()
            reply.send(200, body, headers={"Set-Cookie": f"visit={time.time()}; Path=/"})
        else:
            return False
        return True
