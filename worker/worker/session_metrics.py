"""The worker's CloudWatch metrics, written as EMF lines on stdout (the awslogs driver ships them).

The worker is not a Lambda: nothing flushes for it. Values collect in one Powertools EphemeralMetrics
and are written every FLUSH_INTERVAL_S, after every BATCH sessions, and when the worker stops; the
failures by error type go out as one blob per type at the same moments. Called on the event loop only.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from aws_lambda_powertools.metrics import MetricUnit

from jobcore import emf, metric_names
from jobcore.constants import SessionStatus
from jobcore.models import SessionResult

FLUSH_INTERVAL_S = 60.0
BATCH = 50  # sessions ended between two flushes at most


class SessionMetrics:
    def __init__(self) -> None:
        self._metrics = emf.new_metrics()
        self._failed: Counter[str] = Counter()
        self._cost_by_tenant: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        self._problems: Counter[str] = Counter()
        self._ended = 0

    def started(self, count: int) -> None:
        if count:
            self._metrics.add_metric(name=metric_names.SESSIONS_STARTED, unit=MetricUnit.Count, value=count)

    def ended(self, result: SessionResult, tenant: str | None = None) -> None:
        if result.status is SessionStatus.OK:
            self._metrics.add_metric(name=metric_names.SESSIONS_OK, unit=MetricUnit.Count, value=1)
        else:
            self._metrics.add_metric(name=metric_names.SESSIONS_FAILED, unit=MetricUnit.Count, value=1)
            self._failed[result.error.type.value if result.error else "unknown"] += 1
        if result.analytics_verdict is not None:
            self._problems.update(p.type.value for p in result.analytics_verdict.problems)
        self._metrics.add_metric(
            name=metric_names.BYTES_PER_SESSION, unit=MetricUnit.Bytes, value=result.bytes_in
        )
        timings = result.timings_ms
        if timings.total is not None:
            self._metrics.add_metric(
                name=metric_names.SESSION_DURATION, unit=MetricUnit.Milliseconds, value=timings.total
            )
        if timings.queue_wait is not None:
            self._metrics.add_metric(
                name=metric_names.QUEUE_WAIT, unit=MetricUnit.Milliseconds, value=timings.queue_wait
            )
        if result.cost is not None:
            self._metrics.add_metric(
                name=metric_names.SESSION_COST, unit=MetricUnit.NoUnit, value=result.cost.usd
            )
            self._metrics.add_metric(
                name=metric_names.SESSION_CPU, unit=MetricUnit.Seconds, value=result.cost.cpu_s
            )
            if tenant is not None:
                self._cost_by_tenant[tenant].append((result.cost.usd, result.cost.cpu_s))
        self._ended += 1
        if self._ended >= BATCH:
            self.flush()

    def reaped(self, count: int) -> None:
        if not count:
            return
        self._metrics.add_metric(name=metric_names.ZOMBIES_REAPED, unit=MetricUnit.Count, value=count)

    def flush(self) -> None:
        if self._metrics.metric_set:
            self._metrics.flush_metrics()
        failed, self._failed = self._failed, Counter()
        for error_type, count in sorted(failed.items()):
            with emf.dimensioned(metric_names.ERROR_TYPE_DIMENSION, error_type) as by_type:
                by_type.add_metric(name=metric_names.SESSIONS_FAILED, unit=MetricUnit.Count, value=count)
        costs, self._cost_by_tenant = self._cost_by_tenant, defaultdict(list)
        for tenant, values in sorted(costs.items()):  # every session's value: Average and Sum stay right
            with emf.dimensioned(metric_names.TENANT_DIMENSION, tenant) as by_tenant:
                for usd, cpu_s in values:
                    by_tenant.add_metric(name=metric_names.SESSION_COST, unit=MetricUnit.NoUnit, value=usd)
                    by_tenant.add_metric(name=metric_names.SESSION_CPU, unit=MetricUnit.Seconds, value=cpu_s)
        problems, self._problems = self._problems, Counter()
        for problem_type, count in sorted(problems.items()):
            with emf.dimensioned(metric_names.PROBLEM_TYPE_DIMENSION, problem_type) as by_problem:
                by_problem.add_metric(
                    name=metric_names.ANALYTICS_PROBLEMS, unit=MetricUnit.Count, value=count
                )
        self._ended = 0
