"""The fleet's figures as `top` and the local /metrics show them, read from Redis in two round trips:
the job plane's own counts (JobStore.health, the same as GET /health) and the running totals."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from jobcore import metric_names
from jobcore.fleet_totals import FleetTotals, Totals
from jobcore.models import HealthView
from jobcore.store import JobStore


@dataclass(frozen=True)
class FleetSnapshot:
    health: HealthView
    totals: Totals
    taken_at: float  # monotonic seconds, for rates between two snapshots

    @property
    def desired_workers(self) -> int | None:
        value = self.totals.counters.get(metric_names.DESIRED_WORKERS)
        return None if value is None else int(value)

    @property
    def utilisation(self) -> float | None:
        return self.health.running_sessions / self.health.capacity if self.health.capacity else None

    def rate(self, previous: FleetSnapshot | None, name: str, label: str | None = None) -> float | None:
        """Per second since `previous`; None for the first snapshot."""
        if previous is None or self.taken_at <= previous.taken_at:
            return None
        delta = self.totals.get(name, label) - previous.totals.get(name, label)
        return max(0.0, delta) / (self.taken_at - previous.taken_at)


def read_snapshot(client: redis.Redis) -> FleetSnapshot:
    return FleetSnapshot(JobStore(client).health(), FleetTotals(client).read(), time.monotonic())
