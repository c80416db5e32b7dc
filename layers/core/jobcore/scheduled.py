"""What every scheduled function (scaler, reaper, archiver, dispatch, notifier) wears: a JSON logger
that masks secrets, a tracer, ephemeral EMF metrics, and one decorator that puts the three around the
handler and the schedule's name and time into every log line of the run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import emf
from jobcore.log_masking import masking_logger

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class ScheduledFunction:
    logger: Logger = field(default_factory=masking_logger)
    tracer: Tracer = field(default_factory=Tracer)
    metrics: EphemeralMetrics = field(default_factory=emf.new_metrics)

    def handler(self, run: Handler) -> Handler:
        """`run(event, context)` with Lambda context in the logs, tracing, and its metrics flushed."""

        @functools.wraps(run)
        def with_schedule(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            self.logger.append_keys(
                schedule=event.get("schedule"), scheduled_time=event.get("scheduled_time")
            )
            return run(event, context)

        traced = self.tracer.capture_lambda_handler(with_schedule)
        measured = self.metrics.log_metrics(raise_on_empty_metrics=False)(traced)
        return self.logger.inject_lambda_context(log_event=False)(measured)  # type: ignore[no-any-return]
