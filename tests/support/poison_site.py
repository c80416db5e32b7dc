"""A page that kills the worker process whose browser loads it, every time (the poison session).

Played by the server, as the kernel's OOM killer plays it when a page drives an ECS task past its
memory limit: when a browser asks for /poison, the worker process that holds the poison session's
lease (the consumer Redis names for its current stream entry; a worker id carries its pid) gets
SIGKILL, before the page is answered. Nothing in the worker knows about this page.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

from jobcore import keys


def lease_holder_pid(r: redis.Redis, job_id: str, index: int) -> int | None:
    """The pid of the worker holding the session's lease: the consumer of its entry in the group's
    pending list. Every queue stream is searched, so the lookup holds whatever the stream layout."""
    entry = r.hget(keys.job(job_id), f"e:{index}")
    if not entry:
        return None
    for stream in r.scan_iter(match=f"{keys.PREFIX}q:*", _type="STREAM"):
        try:
            pending = r.xpending_range(stream, keys.GROUP, entry, entry, 1)
        except redis.ResponseError:
            continue
        if pending and any(f.get("j") == job_id for _, f in r.xrange(stream, entry, entry)):
            consumer = str(pending[0]["consumer"])  # "<host>-<pid>-<random>" (worker.main.new_worker_id)
            return int(consumer.rsplit("-", 2)[1])
    return None


class PoisonSite:
    def __init__(self, redis_url: str) -> None:
        self.r = redis.Redis.from_url(redis_url, decode_responses=True)
        self.session: tuple[str, int] | None = None  # (job id, index) of the poison session
        self.kills: list[int] = []  # worker pids killed, one per poison request
        self.requests = 0
        # a poison request that arrives before `session` is set waits up to this long for it (a test
        # learns the job id only once it is submitted, and a worker may claim it sooner)
        self.wait_for_session_s = 0.0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/poison"):
                    self.send_error(404)
                    return
                deadline = time.monotonic() + site.wait_for_session_s
                while site.session is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                pid = lease_holder_pid(site.r, *site.session) if site.session else None
                with site._lock:
                    site.requests += 1
                    if pid is not None:
                        site.kills.append(pid)
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                body = b"<html><body>poison</body></html>"
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/poison") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> PoisonSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.r.close()
