"""The archiver (hourly): finished jobs older than the archive age → gzip JSON in S3, then their
Redis records expire soon after. Batches run until none is due or the invocation nears its timeout."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import metric_names
from jobcore.archive import Archiver, S3ArchiveStore
from jobcore.cold_start import once, settings
from jobcore.redis_conn import connect
from jobcore.scheduled import ScheduledFunction

BATCH = 100
TIME_MARGIN_MS = 60_000  # stop starting batches this close to the timeout

function = ScheduledFunction()
logger, metrics = function.logger, function.metrics


def _archiver() -> Archiver:
    if not settings().bucket:
        raise RuntimeError("the archiver needs a bucket: set TRAFFIC_TOOL_BUCKET")
    return Archiver(connect(settings()), S3ArchiveStore(settings().bucket))


archiver = once(_archiver, close=lambda made: made.r.close())


@function.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    totals = {"archived": 0, "vanished": 0, "deferred": 0}
    while True:
        report = archiver().archive_due(time.time(), cfg.archive_age_s, cfg.archived_ttl_s, BATCH)
        for name in totals:
            totals[name] += getattr(report, name)
        # a short batch means nothing more is due now (deferred jobs wait for the next run)
        if (
            report.archived + report.vanished < BATCH
            or context.get_remaining_time_in_millis() < TIME_MARGIN_MS
        ):
            break
    logger.info(
        "finished jobs archived",
        extra={**totals, "bucket": cfg.bucket, "archive_age_s": cfg.archive_age_s},
    )
    if totals["vanished"]:
        logger.warning("finished jobs expired from Redis before they were archived", extra=totals)
    metrics.add_metric(name=metric_names.JOBS_ARCHIVED, unit=MetricUnit.Count, value=totals["archived"])
    return totals
