"""The scaler (every minute): fleet load from Redis → the scaling policy → the workers' desired count."""

from __future__ import annotations

import contextlib
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import scaler_backend
from jobcore import cold_start, emf, metric_names
from jobcore.errors import ScalerBusyError, StoreUnavailableError
from jobcore.fleet_totals import FleetTotals
from jobcore.models import HealthView
from jobcore.scaler import run_scaler
from jobcore.scaling import ScalingPolicy
from jobcore.scheduled import ScheduledFunction
from jobcore.store import JobStore

function = ScheduledFunction()
logger, metrics = function.logger, function.metrics


@function.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = cold_start.settings()
    try:
        decision, load, workers = run_scaler(
            scaler_backend.client(),
            scaler_backend.backend(),
            ScalingPolicy.from_settings(settings),
            settings.sessions_per_worker,
        )
        fleet = JobStore(scaler_backend.client()).health()
    except ScalerBusyError:
        logger.info("scaler skipped: another run holds the lock")
        return {"skipped": "another scaler run holds the lock"}
    except StoreUnavailableError:
        # the scheduled health probe: Redis unreachable is an unhealthy fleet (the alarm also treats
        # a missing datapoint as breaching, for runs that never get this far)
        metrics.add_metric(name=metric_names.FLEET_HEALTHY, unit=MetricUnit.Count, value=0)
        raise

    summary = {
        "current": decision.current,
        "needed": decision.needed,
        "desired": decision.desired,
        "changed": decision.changed,
        "reason": decision.reason,
        "utilisation": decision.utilisation,
        "idle_periods": decision.state.idle_periods,
        "backlog": load.backlog,
        "running": load.running,
        "task_capacity": load.task_capacity,
        "workers": workers,
    }
    logger.info("scaling decision", extra=summary)
    metrics.add_metric(name=metric_names.DESIRED_WORKERS, unit=MetricUnit.Count, value=decision.desired)
    publish_fleet(fleet)
    with contextlib.suppress(StoreUnavailableError):
        FleetTotals(scaler_backend.client()).set_gauge(metric_names.DESIRED_WORKERS, decision.desired)
    return summary


def publish_fleet(fleet: HealthView) -> None:
    """The fleet gauges of the dashboard, the same figures GET /health answers."""
    metrics.add_metric(name=metric_names.WORKER_COUNT, unit=MetricUnit.Count, value=fleet.workers)
    metrics.add_metric(name=metric_names.QUEUE_DEPTH, unit=MetricUnit.Count, value=fleet.queue_depth)
    metrics.add_metric(name=metric_names.ACTIVE_SESSIONS, unit=MetricUnit.Count, value=fleet.running_sessions)
    metrics.add_metric(name=metric_names.CAPACITY, unit=MetricUnit.Count, value=fleet.capacity)
    metrics.add_metric(
        name=metric_names.OLDEST_QUEUED_AGE, unit=MetricUnit.Seconds, value=fleet.oldest_queued_age_s
    )
    healthy = 1 if fleet.status == "ok" else 0
    metrics.add_metric(name=metric_names.FLEET_HEALTHY, unit=MetricUnit.Count, value=healthy)
    for priority, depth in fleet.queue_depth_by_priority.model_dump().items():
        with emf.dimensioned(metric_names.PRIORITY_DIMENSION, priority) as by_priority:
            by_priority.add_metric(name=metric_names.QUEUE_DEPTH, unit=MetricUnit.Count, value=depth)
