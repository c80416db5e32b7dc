"""Every CloudWatch metric name, in one place: handlers publish them; the dashboard and alarms read them."""

from __future__ import annotations

from typing import Final

NAMESPACE_ENV: Final = "POWERTOOLS_METRICS_NAMESPACE"
NAMESPACE: Final = "TrafficTool"  # used when NAMESPACE_ENV is unset (tests, the local stack)

# scaler
DESIRED_WORKERS: Final = "DesiredWorkers"
WORKER_COUNT: Final = "WorkerCount"
QUEUE_DEPTH: Final = "QueueDepth"
RUNNING_SESSIONS: Final = "RunningSessions"

# reaper
SESSIONS_REQUEUED: Final = "SessionsRequeued"
SESSIONS_DEAD_LETTERED: Final = "SessionsDeadLettered"

# archiver
JOBS_ARCHIVED: Final = "JobsArchived"
