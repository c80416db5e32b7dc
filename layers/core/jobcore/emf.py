"""CloudWatch EMF through Powertools, set up once: the namespace, the fixed `service` dimension, and
one blob per dimension value (an EMF blob carries one value per metric, so per-priority or per-error
figures each need their own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.metrics import EphemeralMetrics

from jobcore import metric_names


def namespace() -> str:
    return os.environ.get(metric_names.NAMESPACE_ENV) or metric_names.NAMESPACE


def new_metrics() -> EphemeralMetrics:
    """Ephemeral: the local stack runs every handler in one process, and Powertools' shared store
    would let one handler flush (or lose) another's metrics."""
    return EphemeralMetrics(namespace=namespace(), service=metric_names.SERVICE)


@contextmanager
def dimensioned(dimension: str, value: str) -> Iterator[EphemeralMetrics]:
    """Metrics added inside carry `dimension=value`; they are written when the block ends."""
    metrics = new_metrics()
    metrics.add_dimension(name=dimension, value=value)
    yield metrics
    if metrics.metric_set:
        metrics.flush_metrics()


def status_class(status: int) -> str:
    return f"{status // 100}xx"
