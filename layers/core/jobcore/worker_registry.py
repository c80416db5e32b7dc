"""The worker registry: each live worker's heartbeat (its load and how long it counts as live).

Workers write it; the reaper (who is alive), the claim script (the fleet's slots), the scaler and the
fleet views read it.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum

import redis

from jobcore import keys
from jobcore.redis_conn import store_errors
from jobcore.settings import Settings


class Beat(StrEnum):
    """The fields of a heartbeat (JSON)."""

    ACTIVE = "active"  # sessions running
    CAPACITY = "capacity"  # sessions it can run at once
    AT = "at"  # when it was written (epoch s)
    EXPIRES = "expires"  # until when the worker counts as live (epoch s)


class WorkerRegistry:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.r = client
        self.settings = settings

    def heartbeat(self, worker_id: str, active: int, capacity: int, ttl_s: float | None = None) -> None:
        """Announce a live worker with its load; it counts as live until `ttl_s` from now."""
        ttl = ttl_s if ttl_s is not None else max(self.settings.lease_s, 10)
        now = time.time()
        beat = json.dumps(
            {Beat.ACTIVE: active, Beat.CAPACITY: capacity, Beat.AT: now, Beat.EXPIRES: now + ttl}
        )
        with store_errors():
            self.r.hset(keys.WORKERS, worker_id, beat)

    def retire(self, worker_id: str) -> None:
        with store_errors():
            self.r.hdel(keys.WORKERS, worker_id)

    def live(self) -> dict[str, dict[str, float]]:
        raw: dict[str, str] = self.r.hgetall(keys.WORKERS)  # type: ignore[assignment]
        return parse_workers(raw, time.time())


def parse_workers(raw: dict[str, str], now: float) -> dict[str, dict[str, float]]:
    live = {}
    for worker_id, text in raw.items():
        try:
            beat = json.loads(text)
        except ValueError:
            continue
        if float(beat.get(Beat.EXPIRES, 0)) > now:
            live[worker_id] = beat
    return live
