"""Pydantic models of recurring checks and webhooks (the /checks and /webhooks contract).

Input models forbid unknown fields like the job models do; a schedule is validated by
`jobcore.schedule_expr` so a bad one is refused with the reason, naming the field.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from jobcore import limits
from jobcore.models import HttpUrlText, JobRequest, check_http_url
from jobcore.schedule_expr import ScheduleExpressionError, parse

CheckName = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.MAX_CHECK_NAME_LENGTH, strip_whitespace=True)
]
ResourceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class CheckState(StrEnum):
    PENDING = "pending"  # no run has settled yet
    OK = "ok"
    FAILING = "failing"  # an incident is open


class WebhookEvent(StrEnum):
    JOB_COMPLETED = "job.completed"
    CHECK_FAILING = "check.failing"
    CHECK_RECOVERED = "check.recovered"
    TEST = "webhook.test"  # only POST /webhooks/{id}/test sends it


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_schedule(value: str) -> str:
    try:
        parse(value)
    except ScheduleExpressionError as exc:
        raise ValueError(str(exc)) from None
    return value.strip()


class AlertRule(_Input):
    after_failures: Annotated[int, Field(ge=1, le=limits.MAX_AFTER_FAILURES)] = 2
    recheck: bool = Field(default=True, description="re-run a failed run once at once before it counts")
    webhooks: Annotated[list[ResourceId], Field(max_length=limits.MAX_WEBHOOKS_PER_CHECK)] = Field(
        default_factory=list
    )
    notify_recovery: bool = True


class CheckRequest(_Input):
    name: CheckName
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="rate(5 minutes) or cron(minutes hours day-of-month month day-of-week year), UTC"
    )
    job: JobRequest
    alert: AlertRule = Field(default_factory=AlertRule)
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _check_schedule(value)


class CheckPatch(_Input):
    name: CheckName | None = None
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    job: JobRequest | None = None
    alert: AlertRule | None = None
    enabled: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else _check_schedule(value)


class CheckRun(BaseModel):
    job_id: str
    scheduled_at: datetime
    ok: bool | None = Field(default=None, description="None while the run has not settled")
    rechecked: bool = False
    recheck_job_id: str | None = None
    duration_ms: int | None = None
    errors: list[str] = Field(default_factory=list, description="the failing sessions' error types")


class Incident(BaseModel):
    opened_at: datetime
    first_job_id: str
    failures: int


class CheckView(BaseModel):
    check_id: str
    name: str
    schedule: str
    job: JobRequest
    alert: AlertRule
    enabled: bool
    created_at: datetime
    state: CheckState = CheckState.PENDING
    consecutive_failures: int = 0
    incident: Incident | None = None
    runs: list[CheckRun] = Field(default_factory=list)


class CheckSummary(BaseModel):
    check_id: str
    name: str
    schedule: str
    enabled: bool
    state: CheckState


class CheckList(BaseModel):
    checks: list[CheckSummary]


class CheckRunAccepted(BaseModel):
    check_id: str
    job_id: str
    scheduled_at: datetime


# ---- webhooks ------------------------------------------------------------------------------------


SubscribableEvent = Literal["job.completed", "check.failing", "check.recovered"]
DEFAULT_EVENTS: tuple[SubscribableEvent, ...] = ("check.failing", "check.recovered")


class WebhookRequest(_Input):
    url: HttpUrlText
    events: Annotated[list[SubscribableEvent], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS)
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_http_url(value)


class WebhookView(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookView):
    secret: str = Field(description="the signing secret: shown once, here, and never again")


class WebhookList(BaseModel):
    webhooks: list[WebhookView]


DeliveryStatus = Literal["pending", "delivered", "dead"]


class DeliveryView(BaseModel):
    delivery_id: str
    event: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_status: int | None = Field(default=None, description="the receiver's last HTTP status")
    last_error: str | None = None
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryView]


class DeliveryAccepted(BaseModel):
    delivery_id: str
    status: DeliveryStatus
