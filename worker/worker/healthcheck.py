"""The container health check: healthy while the worker's Redis heartbeat is fresh.

The worker touches `TRAFFIC_TOOL_HEARTBEAT_FILE` after each heartbeat it writes to Redis, so the file's
age says whether the worker still beats against the job plane, which "the process exists" does not: a
worker cut off from Redis, or stuck, turns unhealthy within three beats and ECS replaces it (and a new
deployment whose tasks never turn healthy trips the circuit breaker). `python -m worker.healthcheck`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from jobcore.settings import Settings

MISSED_BEATS = 3  # the same grace the Redis registry gives a worker (ttl = 3 beats)


def touch_heartbeat(path: str) -> None:
    Path(path).touch()


def heartbeat_age_s(path: str, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat, or None when the worker never wrote one."""
    try:
        mtime = Path(path).stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


def check(settings: Settings, now: float | None = None) -> tuple[bool, str]:
    if not settings.heartbeat_file:
        return False, "TRAFFIC_TOOL_HEARTBEAT_FILE is not set"
    age = heartbeat_age_s(settings.heartbeat_file, now)
    if age is None:
        return False, f"no heartbeat yet ({settings.heartbeat_file})"
    limit = MISSED_BEATS * settings.heartbeat_s
    if age > limit:
        return False, f"last heartbeat {age:.0f} s ago (limit {limit:.0f} s)"
    return True, f"last heartbeat {age:.1f} s ago"


def main() -> int:
    healthy, reason = check(Settings())
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
