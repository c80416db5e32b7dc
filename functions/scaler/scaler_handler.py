"""The scaler (every minute): fleet load from Redis → the scaling policy → the workers' desired count."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import scaler_backend
from jobcore import metric_names
from jobcore.errors import ScalerBusyError
from jobcore.scaler import run_scaler
from jobcore.settings import scaling_policy

logger = Logger()
# Ephemeral: the local stack runs every handler in one process, and the shared Metrics store
# would let one handler flush (or lose) another's metrics.
metrics = EphemeralMetrics(namespace=os.environ.get(metric_names.NAMESPACE_ENV, metric_names.NAMESPACE))


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(raise_on_empty_metrics=False)  # type: ignore[untyped-decorator]  # Powertools: untyped
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(schedule=event.get("schedule"), scheduled_time=event.get("scheduled_time"))
    settings = scaler_backend.settings()
    try:
        decision, load, workers = run_scaler(
            scaler_backend.client(),
            scaler_backend.backend(),
            scaling_policy(settings),
            settings.sessions_per_worker,
        )
    except ScalerBusyError:
        logger.info("scaler skipped: another run holds the lock")
        return {"skipped": "another scaler run holds the lock"}

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
    metrics.add_metric(name=metric_names.WORKER_COUNT, unit=MetricUnit.Count, value=workers)
    metrics.add_metric(name=metric_names.QUEUE_DEPTH, unit=MetricUnit.Count, value=load.backlog)
    metrics.add_metric(name=metric_names.RUNNING_SESSIONS, unit=MetricUnit.Count, value=load.running)
    return summary
