"""Faults a test inflicts on its own redis-server."""

from __future__ import annotations

import time

import redis

from tests.support.redis_server import RedisServer


def crash_restart(server: RedisServer, down_s: float = 0.0) -> float:
    """kill -9 redis-server, stay down `down_s`, start it on the same port and data (the AOF brings the
    data back). Returns the monotonic time Redis answered again."""
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait(10)
    server.proc = None
    time.sleep(down_s)
    server.start()
    return time.monotonic()


def client_pause(server: RedisServer, ms: int) -> None:
    """CLIENT PAUSE ALL: every client's commands wait `ms` (what a failover or a slow fork looks like)."""
    with redis.Redis(port=server.port, socket_timeout=5) as admin:
        admin.client_pause(ms, all=True)
