"""The worker's logs: Powertools JSON on stderr (stdout carries the EMF metric lines), secrets masked,
and the job id of the session being served as the correlation id.

The worker runs many sessions at once on one event loop, so the job id lives in a ContextVar: each
session's asyncio task (and the threads it hands Redis calls to) sees its own.
"""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from jobcore.log_masking import SecretMaskingFilter
from jobcore.settings import setting_from_environment

SERVICE = "traffic-tool-worker"  # POWERTOOLS_SERVICE_NAME wins where set (the task definition sets it)

current_job: ContextVar[str | None] = ContextVar("current_job", default=None)


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        job_id = current_job.get()
        if job_id is not None:
            record.correlation_id = job_id
        return True


def bind_job(job_id: str) -> None:
    """Log lines from here on in this task (and what it spawns) carry `correlation_id=job_id`."""
    current_job.set(job_id)


def configure_logging(stream: object = None) -> Logger:
    # read alone, before Settings: invalid settings are logged with this level
    level = setting_from_environment("log_level") or os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO"
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(CorrelationFilter())
    handler.addFilter(SecretMaskingFilter())
    logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE, level=level.upper(),
                    logger_handler=handler)  # fmt: skip
    # the modules log through stdlib loggers (worker.*, jobcore.*): give them the same JSON handler
    packages = {"worker", "jobcore"}
    for name in packages:
        logging.getLogger(name)  # registered, so that the copy below finds it
    copy_config_to_registered_loggers(source_logger=logger, log_level=level.upper(), include=packages)
    return logger
