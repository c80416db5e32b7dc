"""Names shared across processes: environment variables, priorities, statuses."""

from enum import StrEnum
from typing import Final

ENV_PREFIX: Final = "TRAFFIC_TOOL_"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


# Workers read the streams in this order: high first.
PRIORITY_ORDER: Final = (Priority.HIGH, Priority.NORMAL, Priority.LOW)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SessionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_SESSION_STATUSES: Final = frozenset(
    {SessionStatus.OK, SessionStatus.FAILED, SessionStatus.CANCELLED}
)


class DeadLetterReason(StrEnum):
    WORKER_DIED = "worker_died"
    TIMEOUT = "timeout"
