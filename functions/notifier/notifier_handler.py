"""The notifier (every minute): settle finished check runs (rechecks, state, incidents), queue
job.completed deliveries, then drain the webhook delivery queue with backoff and dead-lettering."""

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
    checks = plane()
    settled = checks.settler.settle()
    completed = checks.settler.notify_completed_jobs()
    sent = checks.sender.drain()
    report = {**settled, "job_completed_queued": completed, **sent}
    logger.info("checks settled, webhooks sent", extra=report)
    metrics.add_metric(name=metric_names.WEBHOOKS_DELIVERED, unit=MetricUnit.Count, value=sent["delivered"])
    metrics.add_metric(name=metric_names.WEBHOOKS_DEAD_LETTERED, unit=MetricUnit.Count, value=sent["dead"])
    return report
