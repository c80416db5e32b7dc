"""What the operator routes answer with: the fleet view, dead letters and their redrive."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobcore import limits
from jobcore.constants import DeadLetterReason
from jobcore.models import ErrorInfo, HealthView


class WorkerView(BaseModel):
    worker_id: str
    heartbeat_age_s: float | None = Field(description="seconds since its last heartbeat (None: unknown)")
    active: int = Field(description="sessions it is running")
    capacity: int = Field(description="sessions it can run at once")


class TenantLoad(BaseModel):
    tenant: str
    queued: int
    running: int


class FleetView(BaseModel):
    """What `traffic-tool top` shows, read in one pipelined round trip."""

    health: HealthView = Field(description="the /health figures: queue by priority, running, capacity, …")
    tenants: list[TenantLoad] = Field(description="tenants with sessions queued or running")
    live_workers: list[WorkerView]
    desired_workers: int | None = Field(description="the scaler's last decision (None before its first run)")
    totals: dict[str, float] = Field(
        description="running totals since the job plane started, by metric name[:label]: ApiRequests:2xx, "
        "SessionsFailed:navigation_timeout, … (a client's rates are the difference of two reads)"
    )
    last_minutes: dict[str, float] = Field(
        description="the same counters' increments over the last `window_minutes` (per-minute buckets, "
        "the current minute partial): API requests by status class, failures by error type, …"
    )
    window_minutes: int
    session_duration_p95_ms: float | None
    queue_wait_p95_ms: float | None
    bytes_per_session_avg: float | None
    bytes_per_session_p95: float | None
    recent_sessions: int = Field(description="the sessions the p95 figures are taken over (the latest)")
    taken_at: datetime


class DeadLetter(BaseModel):
    id: str = Field(description="the dead-letter entry id (what redrive takes)")
    job_id: str
    session_index: int
    tenant: str
    attempts: int
    reason: DeadLetterReason
    error: ErrorInfo = Field(description="the last error, as the session's result shows it")
    url: str = Field(description="the session's URL, secrets masked")
    dead_at: datetime


class DeadLetterPage(BaseModel):
    dead_letters: list[DeadLetter] = Field(description="newest first")
    next_cursor: str | None = None


class RedriveRequest(BaseModel):
    """Either `ids`, or a filter (`tenant` and/or `reason`, at most `limit` of the newest)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = Field(
        default=None, min_length=1, max_length=limits.MAX_PAGE_SIZE, description="dead-letter entry ids"
    )
    tenant: str | None = Field(default=None, max_length=64)
    reason: DeadLetterReason | None = None
    limit: int = Field(default=limits.DEFAULT_PAGE_SIZE, ge=1, le=limits.MAX_PAGE_SIZE)

    @model_validator(mode="after")
    def _ids_or_filter(self) -> RedriveRequest:
        if self.ids is not None and (self.tenant is not None or self.reason is not None):
            raise ValueError("give ids or a filter (tenant, reason), not both")
        if self.ids is None and self.tenant is None and self.reason is None:
            raise ValueError("give ids, or a filter (tenant and/or reason)")
        return self


class RedriveOutcome(BaseModel):
    id: str
    outcome: str = Field(description="requeued, or why not: gone (already redriven), stale, expired")
    job_id: str | None = None
    session_index: int | None = None


class RedriveResult(BaseModel):
    requeued: int
    outcomes: list[RedriveOutcome]
