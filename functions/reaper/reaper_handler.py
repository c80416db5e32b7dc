"""The reaper (every minute): stalled sessions → re-queued (attempt + 1) or dead-lettered with the reason.

Safe when runs overlap: each stalled session is recovered by one Lua script that checks and moves it
in one step, so a second run finds it already moved and skips it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import metric_names
from jobcore.cold_start import once, settings
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.scheduled import ScheduledFunction

function = ScheduledFunction()
logger, metrics = function.logger, function.metrics


def _queue() -> JobQueue:
    return JobQueue(connect(settings()), settings())


queue = once(_queue, close=lambda jobs: jobs.r.close())


@function.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    jobs = queue()
    report = asdict(jobs.recover_stalled())
    logger.info(
        "stalled sessions recovered",
        extra={**report, "lease_s": jobs.settings.lease_s, "max_attempts": jobs.settings.max_attempts},
    )
    metrics.add_metric(name=metric_names.SESSIONS_REQUEUED, unit=MetricUnit.Count, value=report["requeued"])
    metrics.add_metric(
        name=metric_names.SESSIONS_DEAD_LETTERED, unit=MetricUnit.Count, value=report["dead_lettered"]
    )
    return report
