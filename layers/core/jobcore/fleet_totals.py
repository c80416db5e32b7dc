"""Running totals in Redis: what `traffic-tool top` and the local `/metrics` show besides the job plane's
own figures (which JobStore.health() reads). Fields are metric names from jobcore.metric_names, with
`:label` for the per-error-type and per-status-class series, so the three views cannot disagree on names.

Writers call these after the fact (a session ended, a request answered); a failed write loses one count,
never the work, so callers may suppress StoreUnavailableError.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from jobcore import keys, metric_names
from jobcore.constants import SessionStatus
from jobcore.models import SessionResult
from jobcore.redis_conn import store_errors

RECENT_MAX = 1000  # sessions kept for percentiles
WINDOW_MINUTES = 5  # the "last minutes" counts: this many per-minute buckets, the current one partial


def series(name: str, label: str | None = None) -> str:
    return name if label is None else f"{name}:{label}"


@dataclass(frozen=True)
class RecentSession:
    duration_ms: int
    queue_wait_ms: int
    bytes_in: int


@dataclass(frozen=True)
class Totals:
    counters: dict[str, float] = field(default_factory=dict)
    recent: list[RecentSession] = field(default_factory=list)
    last_minutes: dict[str, float] = field(default_factory=dict)  # counters' increments, WINDOW_MINUTES

    def get(self, name: str, label: str | None = None) -> float:
        return self.counters.get(series(name, label), 0.0)

    def labelled(self, name: str) -> dict[str, float]:
        """{label: value} of a metric's labelled series, e.g. failures by error type."""
        prefix = f"{name}:"
        return {k[len(prefix) :]: v for k, v in self.counters.items() if k.startswith(prefix)}

    def p95(self, attribute: str) -> float | None:
        return percentile([float(getattr(s, attribute)) for s in self.recent], 95)

    def bytes_per_session(self) -> float | None:
        ended = self.get(metric_names.SESSIONS_OK) + self.get(metric_names.SESSIONS_FAILED)
        return self.get(metric_names.BYTES_PER_SESSION) / ended if ended else None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (as CloudWatch's pNN of raw values); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _add(pipe: redis.client.Pipeline, field_name: str, amount: int, now: float) -> None:
    """A counter's increment: to its running total, and to this minute's bucket."""
    bucket = keys.telemetry_minute(int(now // 60))
    pipe.hincrby(keys.TELEMETRY, field_name, amount)
    pipe.hincrby(bucket, field_name, amount)
    pipe.expire(bucket, (WINDOW_MINUTES + 1) * 60)


class FleetTotals:
    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    def session_ended(self, result: SessionResult) -> None:
        ok = result.status is SessionStatus.OK
        timings = result.timings_ms
        with store_errors():
            pipe = self.r.pipeline(transaction=False)
            now = time.time()
            _add(pipe, metric_names.SESSIONS_OK if ok else metric_names.SESSIONS_FAILED, 1, now)
            if not ok and result.error is not None:
                _add(pipe, series(metric_names.SESSIONS_FAILED, result.error.type.value), 1, now)
            # the sum of bytes: divided by sessions ended it is the bandwidth per session
            pipe.hincrby(keys.TELEMETRY, metric_names.BYTES_PER_SESSION, result.bytes_in)
            recent = f"{timings.total or 0} {timings.queue_wait or 0} {result.bytes_in}"
            pipe.lpush(keys.RECENT_SESSIONS, recent)
            pipe.ltrim(keys.RECENT_SESSIONS, 0, RECENT_MAX - 1)
            pipe.execute()

    def count(self, name: str, amount: int = 1, label: str | None = None) -> None:
        with store_errors():
            pipe = self.r.pipeline(transaction=False)
            _add(pipe, series(name, label), amount, time.time())
            pipe.execute()

    def set_gauge(self, name: str, value: float) -> None:
        with store_errors():
            self.r.hset(keys.TELEMETRY, name, repr(float(value)))

    def read(self) -> Totals:
        with store_errors():
            pipe = self.r.pipeline(transaction=False)
            queue_totals_reads(pipe)
            replies = pipe.execute()
        return totals_from(replies)


TOTALS_READS = 2 + WINDOW_MINUTES  # replies queue_totals_reads adds, for totals_from


def queue_totals_reads(pipe: redis.client.Pipeline, now: float | None = None) -> None:
    pipe.hgetall(keys.TELEMETRY)
    pipe.lrange(keys.RECENT_SESSIONS, 0, -1)
    minute = int((time.time() if now is None else now) // 60)
    for back in range(WINDOW_MINUTES):
        pipe.hgetall(keys.telemetry_minute(minute - back))


def totals_from(replies: list[Any]) -> Totals:
    raw, recent_raw, *buckets = replies[:TOTALS_READS]
    last_minutes: dict[str, float] = {}
    for bucket in buckets:
        for name, value in bucket.items():
            last_minutes[name] = last_minutes.get(name, 0.0) + float(value)
    recent = []
    for line in recent_raw:
        duration, wait, size = (int(part) for part in line.split())
        recent.append(RecentSession(duration, wait, size))
    return Totals({k: float(v) for k, v in raw.items()}, recent, last_minutes)


class CountBuffer:
    """Counts kept in the process and added to the Redis totals at most once per `interval_s`:
    one Redis write a second instead of one per request. What a process had not flushed when it
    stopped is lost; the figures are a dashboard's, not a ledger's."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.pending: dict[str, int] = {}
        self.flushed_at = time.monotonic()
        self._lock = threading.Lock()

    def add(self, totals: FleetTotals, name: str, label: str | None = None, amount: int = 1) -> None:
        key = series(name, label)
        with self._lock:
            self.pending[key] = self.pending.get(key, 0) + amount
            if time.monotonic() - self.flushed_at < self.interval_s:
                return
            batch, self.pending = self.pending, {}
            self.flushed_at = time.monotonic()
        try:
            with store_errors():
                pipe = totals.r.pipeline(transaction=False)
                now = time.time()
                for field_name, value in batch.items():
                    _add(pipe, field_name, value, now)
                pipe.execute()
        except Exception:
            with self._lock:  # keep the counts for the next flush
                for field_name, value in batch.items():
                    self.pending[field_name] = self.pending.get(field_name, 0) + value
            raise
