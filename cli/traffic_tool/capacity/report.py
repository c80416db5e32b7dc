"""A simulation's summary: the JSON object `traffic-tool simulate --json` prints (queue wait, latency,
tasks, sessions, utilisation, cost per session, Redis load against its measured ceiling)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from jobcore.prices import PriceBook
from jobcore.settings import DEFAULTS
from traffic_tool.capacity.fleet_cost import CostModel, fleet_cost
from traffic_tool.capacity.measured import Figure
from traffic_tool.capacity.sim_records import SimResult

# a heartbeat every heartbeat_s and a lease renewal every lease_s / 3 (worker.loop), at the defaults
HEARTBEATS_PER_TASK_S = 1 / DEFAULTS.heartbeat_s + 3 / DEFAULTS.lease_s
IDLE_POLLS_PER_TASK_S = 1 / DEFAULTS.claim_poll_s  # an idle worker's empty claim every claim_poll_s
BACKGROUND_US_PER_OP = 15.0  # assumption: a heartbeat, renewal or empty claim costs Redis ~15 µs


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 3) if values else 0.0,
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
    }


@dataclass(frozen=True)
class RedisFigures:
    us_per_session: float
    ops_per_session: float

    @classmethod
    def from_figures(cls, figures: dict[str, Figure]) -> RedisFigures:
        return cls(figures["redis_us_per_session"].value, figures["redis_ops_per_session"].value)


def redis_load(result: SimResult, redis: RedisFigures, mean_duration_s: float) -> dict[str, float]:
    """Job-plane operations per second, from the samples, against one primary's ceiling (its main thread
    busy 100%: 1e6 / µs per session sessions/s)."""
    k = result.config.sessions_per_task
    ops, busy = [], []
    for s in result.samples:
        per_s = s.arrivals_per_min / 60.0
        idle = max(0, s.tasks - math.ceil(s.running / k))
        background = s.tasks * HEARTBEATS_PER_TASK_S + idle * IDLE_POLLS_PER_TASK_S
        ops.append(per_s * redis.ops_per_session + background)
        busy.append((per_s * redis.us_per_session + background * BACKGROUND_US_PER_OP) / 1e6)
    saturates = 1e6 / redis.us_per_session
    return {
        "ops_per_s_mean": round(statistics.fmean(ops), 1) if ops else 0.0,
        "ops_per_s_peak": round(max(ops), 1) if ops else 0.0,
        "ceiling_ops_per_s": round(saturates * redis.ops_per_session),
        "busy_fraction_peak": round(max(busy), 4) if busy else 0.0,
        "saturates_at_sessions_per_s": round(saturates),
        "saturates_at_tasks": math.floor(saturates * mean_duration_s / k),
    }


def summarise(
    result: SimResult,
    prices: PriceBook,
    model: CostModel,
    redis: RedisFigures,
    mean_duration_s: float,
    seed: int,
    warmup_s: float = 0.0,
) -> dict[str, Any]:
    """Waits and latencies count the sessions that arrived after `warmup_s` (steady state); the
    session counts, tasks and cost count the whole run."""
    served = [s for s in result.sessions if s.finished >= 0]
    measured = [s for s in served if s.arrived >= warmup_s]
    waits = [s.started - s.arrived for s in measured]
    latencies = [s.finished - s.arrived for s in measured]
    cfg = result.config
    cost = fleet_cost(
        prices, model, result.task_seconds, cfg.task_vcpu, cfg.task_memory_gb, len(served), result.end_s
    )
    billed_s = sum(result.task_seconds.values())
    return {
        "seed": seed,
        "minutes": round(result.horizon_s / 60, 2),
        "warmup_minutes": round(warmup_s / 60, 2),
        "queue_wait_s": _spread(waits),
        "latency_s": _spread(latencies),
        "tasks": {
            "peak": result.peak_tasks,
            "mean": round(billed_s / result.end_s, 2) if result.end_s else 0.0,
            "spot_share_of_task_hours": round(result.task_seconds["spot"] / billed_s, 3) if billed_s else 0.0,
        },
        "sessions": {
            "arrived": len(result.sessions) + result.refused,
            "served": len(served),
            "refused": result.refused,
            "unfinished": len(result.sessions) - len(served),
            "handed_back": result.handed_back,
        },
        "spot_interruptions": result.interruptions,
        "utilisation": round(result.busy_slot_s / result.ready_slot_s, 3) if result.ready_slot_s else 0.0,
        "cost_per_session_usd": round(cost["total"] / len(served), 6) if served else None,
        "cost_usd": {name: round(usd, 4) for name, usd in cost.items()},
        "redis": redis_load(result, redis, mean_duration_s),
        "scaler": {
            "decisions": len(result.decisions),
            "scale_outs": sum(1 for d in result.decisions if d.desired > d.current),
            "scale_ins": sum(1 for d in result.decisions if d.desired < d.current),
        },
        "fleet": {
            "sessions_per_task": cfg.sessions_per_task,
            "fixed_tasks": cfg.fixed_tasks,
            "min_tasks": cfg.min_tasks,
            "max_tasks": cfg.max_tasks,
            "spot_share": cfg.spot_share,
            "capacity_mode": model.capacity_mode,
            "startup_s": cfg.startup_s,
        },
    }
