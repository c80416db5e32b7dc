"""Dispatch (invoked by each check's EventBridge Scheduler schedule): submit the check's run as a job.

Idempotent on check id + scheduled time: Scheduler delivers at least once, and a repeated
invocation returns the job the first one queued.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import metric_names
from jobcore.check_plane import from_environment as plane
from jobcore.scheduled import ScheduledFunction

function = ScheduledFunction()
logger, metrics = function.logger, function.metrics


@function.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_id, scheduled_time = str(event["check_id"]), str(event["scheduled_time"])
    job_id = plane().checks.dispatch(check_id, scheduled_time)
    logger.info("check dispatched", extra={"check_id": check_id, "job_id": job_id})
    metrics.add_metric(
        name=metric_names.CHECK_RUNS_DISPATCHED, unit=MetricUnit.Count, value=int(bool(job_id))
    )
    return {"check_id": check_id, "job_id": job_id, "scheduled_time": scheduled_time}
