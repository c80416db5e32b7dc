"""The error taxonomy of sessions, and the domain exceptions of the job plane.

One enum for what can go wrong in a session (the dashboard's errors panel and
SessionResult.error.type read it), one exception class per thing a caller of
jobcore must handle. HTTP status codes are the API's business, not this module's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ErrorType(StrEnum):
    NAVIGATION_TIMEOUT = "navigation_timeout"
    SESSION_TIMEOUT = "session_timeout"
    PROXY_AUTH_FAILED = "proxy_auth_failed"
    PROXY_ERROR = "proxy_error"
    DNS_ERROR = "dns_error"
    CONNECTION_ERROR = "connection_error"
    HTTP_ERROR = "http_error"
    ANALYTICS_NOT_DETECTED = "analytics_not_detected"
    EXPECTATION_FAILED = "expectation_failed"
    BLOCKED_TARGET = "blocked_target"
    BANDWIDTH_EXCEEDED = "bandwidth_exceeded"
    BROWSER_CRASH = "browser_crash"
    STEP_FAILED = "step_failed"
    TLS_ERROR = "tls_error"


# What a person reads when the worker has nothing more specific to say.
ERROR_MESSAGES: Final[dict[ErrorType, str]] = {
    ErrorType.NAVIGATION_TIMEOUT: "the page did not reach its wait_until state before the timeout",
    ErrorType.SESSION_TIMEOUT: "the session ran past its timeout_s and was stopped",
    ErrorType.PROXY_AUTH_FAILED: "the proxy refused the credentials (407 Proxy Authentication Required)",
    ErrorType.PROXY_ERROR: "the proxy could not be reached or could not connect to the target",
    ErrorType.DNS_ERROR: "the target's host name could not be resolved",
    ErrorType.CONNECTION_ERROR: "the connection to the target was refused, reset or failed",
    ErrorType.HTTP_ERROR: "the page answered with an HTTP error status",
    ErrorType.ANALYTICS_NOT_DETECTED: "no analytics collector request was seen before the session ended",
    ErrorType.EXPECTATION_FAILED: "the page did not meet the job's expectation",
    ErrorType.BLOCKED_TARGET: "the egress guard refused the target address",
    ErrorType.BANDWIDTH_EXCEEDED: "the session transferred more than its max_bytes and was stopped",
    ErrorType.BROWSER_CRASH: "the browser or its renderer crashed while running the session",
    ErrorType.STEP_FAILED: "a step could not be performed on the page",
    ErrorType.TLS_ERROR: "the target's TLS certificate or handshake was refused",
}


class TrafficToolError(Exception):
    """Base of every domain exception."""


class TargetBlockedError(TrafficToolError):
    """The egress guard refused a URL; `reason` says why in words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"target refused: {reason}")
        self.url = url
        self.reason = reason


class JobNotFoundError(TrafficToolError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} not found")
        self.job_id = job_id


class DeadLetterNotFoundError(JobNotFoundError):
    def __init__(self, entry_id: str) -> None:
        TrafficToolError.__init__(
            self, f"dead letter {entry_id} not found (redriven already, or never written)"
        )
        self.job_id = entry_id


class AdmissionError(TrafficToolError):
    """The job was not accepted now; retrying after `retry_after_s` may succeed."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueFullError(AdmissionError):
    pass


class QuotaExceededError(AdmissionError):
    pass


class StoreUnavailableError(TrafficToolError):
    """Redis is unreachable, out of memory or could not make a write durable."""


class StoreOutOfMemoryError(StoreUnavailableError):
    """Redis reached maxmemory and, under `noeviction`, refuses writes rather than evict jobs."""


class IdempotencyConflictError(TrafficToolError):
    """The same Idempotency-Key was used with a different request body."""


class IdempotencyInProgressError(TrafficToolError):
    """A request with the same Idempotency-Key is still being processed."""


class InvalidRequestError(TrafficToolError):
    """Input that the models could not express as a field constraint (body size, JSON syntax)."""


class OperatorRequiredError(TrafficToolError):
    """A route for operators (the fleet, dead letters) called with a tenant's token: 403."""


class ScalerBusyError(TrafficToolError):
    """Another scaler run holds the lock; this run changes nothing."""


class CapacityUnavailableError(TrafficToolError):
    """The capacity backend (the ECS service) cannot be read or changed."""


class CheckNotFoundError(TrafficToolError):
    def __init__(self, check_id: str) -> None:
        super().__init__(f"check {check_id} not found")
        self.check_id = check_id


class WebhookNotFoundError(TrafficToolError):
    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"webhook {webhook_id} not found")
        self.webhook_id = webhook_id


class LimitReachedError(TrafficToolError):
    """The tenant already has as many checks (or webhooks) as it may have."""


class ScheduleBackendError(TrafficToolError):
    """EventBridge Scheduler (or the local schedule store) refused or failed a change."""
