"""The fleet's figures as `top` and the local /metrics show them: a FleetView (GET /fleet, or read from
Redis by the same jobcore.fleet_view for the local /metrics), stamped for rates between two reads."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import redis

from jobcore.fleet_totals import Totals
from jobcore.fleet_view import read_fleet
from jobcore.models import HealthView
from jobcore.operator_models import FleetView


@dataclass(frozen=True)
class FleetSnapshot:
    view: FleetView
    taken_at: float  # monotonic seconds, for rates between two snapshots

    @property
    def health(self) -> HealthView:
        return self.view.health

    @cached_property
    def totals(self) -> Totals:
        return Totals(self.view.totals)

    @property
    def desired_workers(self) -> int | None:
        return self.view.desired_workers

    @property
    def utilisation(self) -> float | None:
        return self.health.running_sessions / self.health.capacity if self.health.capacity else None

    def p95(self, figure: str) -> float | None:
        """p95 of the latest sessions' `duration_ms`, `queue_wait_ms` or `bytes_in`."""
        return {
            "duration_ms": self.view.session_duration_p95_ms,
            "queue_wait_ms": self.view.queue_wait_p95_ms,
            "bytes_in": self.view.bytes_per_session_p95,
        }[figure]

    def rate(self, previous: FleetSnapshot | None, name: str, label: str | None = None) -> float | None:
        """Per second since `previous`; None for the first snapshot."""
        if previous is None or self.taken_at <= previous.taken_at:
            return None
        delta = self.totals.get(name, label) - previous.totals.get(name, label)
        return max(0.0, delta) / (self.taken_at - previous.taken_at)


def snapshot(view: FleetView) -> FleetSnapshot:
    return FleetSnapshot(view, time.monotonic())


def read_snapshot(client: redis.Redis) -> FleetSnapshot:
    """Straight from Redis: the local stack's /metrics, which runs beside it."""
    return snapshot(read_fleet(client))
