"""Every metric name and dimension, in one place: the code publishes them (CloudWatch EMF, the Redis
counters behind `traffic-tool top` and the local `/metrics`); the dashboard and alarms read them, and
tests/unit/test_observability_template.py holds template.yaml to this module."""

from __future__ import annotations

from typing import Final

NAMESPACE_ENV: Final = "POWERTOOLS_METRICS_NAMESPACE"
NAMESPACE: Final = "TrafficTool"  # used when NAMESPACE_ENV is unset (tests, the local stack)

# Every metric carries `service` (Powertools adds it from POWERTOOLS_SERVICE_NAME otherwise, which differs
# between the functions and the worker): one fixed value keeps each metric a single CloudWatch series.
SERVICE_DIMENSION: Final = "service"
SERVICE: Final = "traffic-tool"
PRIORITY_DIMENSION: Final = "Priority"  # high | normal | low
ERROR_TYPE_DIMENSION: Final = "ErrorType"  # jobcore.errors.ErrorType values
STATUS_CLASS_DIMENSION: Final = "StatusClass"  # 2xx | 4xx | 5xx
TENANT_DIMENSION: Final = "Tenant"  # the cost ledger's figures per tenant
PROBLEM_TYPE_DIMENSION: Final = "ProblemType"  # jobcore.analytics_models.ProblemType values

# Fleet gauges: the scaler publishes them every minute from one Redis read (the same figures as /health).
ACTIVE_SESSIONS: Final = "ActiveSessions"
CAPACITY: Final = "FleetCapacity"  # concurrent sessions the live workers announce
QUEUE_DEPTH: Final = "QueueDepth"  # the total, and per Priority
OLDEST_QUEUED_AGE: Final = "OldestQueuedAge"  # seconds the oldest unclaimed session has waited
WORKER_COUNT: Final = "WorkerCount"  # live workers (fresh heartbeat)
DESIRED_WORKERS: Final = "DesiredWorkers"
FLEET_HEALTHY: Final = "FleetHealthy"  # 1 when /health would answer 200, else 0: the scheduled probe

# The worker: per session, flushed every minute and when it stops.
SESSIONS_STARTED: Final = "SessionsStarted"
SESSIONS_OK: Final = "SessionsOk"
SESSIONS_FAILED: Final = "SessionsFailed"  # the total, and per ErrorType
BYTES_PER_SESSION: Final = "BytesPerSession"
SESSION_DURATION: Final = "SessionDuration"  # milliseconds
QUEUE_WAIT: Final = "QueueWait"  # milliseconds from enqueue to the session's start
ZOMBIES_REAPED: Final = "ZombieProcessesReaped"
SESSION_COST: Final = "SessionCostUsd"  # estimated, per session: the total, and per Tenant
SESSION_CPU: Final = "SessionCpuSeconds"  # the session's share of the worker's CPU: the total, and per Tenant
ANALYTICS_PROBLEMS: Final = "AnalyticsProblems"  # per ProblemType: what the analytics verdicts found

# The reaper
SESSIONS_REQUEUED: Final = "SessionsRequeued"
SESSIONS_DEAD_LETTERED: Final = "SessionsDeadLettered"

# The archiver
JOBS_ARCHIVED: Final = "JobsArchived"

# The API and its authorizer
API_REQUESTS: Final = "ApiRequests"  # per StatusClass
TOKENS_REFUSED: Final = "TokensRefused"

# Recurring checks and webhooks
CHECK_RUNS_DISPATCHED: Final = "CheckRunsDispatched"
WEBHOOKS_DELIVERED: Final = "WebhooksDelivered"
WEBHOOKS_DEAD_LETTERED: Final = "WebhooksDeadLettered"

# The dimension sets (beyond `service`) each metric is published with; () is the metric alone.
DIMENSION_SETS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    QUEUE_DEPTH: ((), (PRIORITY_DIMENSION,)),
    SESSIONS_FAILED: ((), (ERROR_TYPE_DIMENSION,)),
    API_REQUESTS: ((STATUS_CLASS_DIMENSION,),),
    SESSION_COST: ((), (TENANT_DIMENSION,)),
    SESSION_CPU: ((), (TENANT_DIMENSION,)),
    ANALYTICS_PROBLEMS: ((PROBLEM_TYPE_DIMENSION,),),
}


def dimension_sets(name: str) -> tuple[tuple[str, ...], ...]:
    return DIMENSION_SETS.get(name, ((),))


def all_names() -> frozenset[str]:
    """Every metric name this module defines (the upper-case str constants that are not settings)."""
    skip = {"NAMESPACE_ENV", "NAMESPACE", "SERVICE"}
    return frozenset(
        value
        for key, value in globals().items()
        if key.isupper() and isinstance(value, str) and key not in skip and not key.endswith("_DIMENSION")
    )
