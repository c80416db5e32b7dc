"""Pydantic models of the job contract (see DESIGN.md, "The job contract").

Input models forbid unknown fields, so a typo is an error that names the field
rather than a silently ignored option. Limits come from `jobcore.limits`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)

from jobcore import limits
from jobcore.analytics_models import (
    AnalyticsExpect,
    AnalyticsHit,
    AnalyticsVerdict,
    RequestRule,
    WebVitals,
    WebVitalsBudget,
    analytics_shorthand,
)
from jobcore.constants import JobStatus, Priority, SessionStatus
from jobcore.errors import ErrorType
from jobcore.urlguard import parse_proxy_server

ResourceType = Literal[
    "stylesheet",
    "image",
    "media",
    "font",
    "script",
    "texttrack",
    "xhr",
    "fetch",
    "eventsource",
    "websocket",
    "manifest",
    "other",
]
WaitUntil = Literal["commit", "domcontentloaded", "load", "networkidle"]
Selector = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_SELECTOR_LENGTH)]
LabelText = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_LABEL_LENGTH)]
StepText = Annotated[str, StringConstraints(max_length=limits.MAX_STEP_TEXT_LENGTH)]
StepTimeoutMs = Annotated[int, Field(ge=0, le=limits.MAX_STEP_WAIT_MS)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def check_http_url(value: str) -> str:
    """Syntax only: http(s) with a host. Address policy is `jobcore.urlguard`'s job."""
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        raise ValueError("URL must not contain whitespace or control characters")
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme not in ("http", "https"):
        raise ValueError(f"URL scheme must be http or https, not {scheme or 'missing'!r}")
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"URL is malformed: {exc}") from exc
    if not parts.hostname:
        raise ValueError("URL has no host")
    return value


HttpUrlText = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_URL_LENGTH)]


# ---- steps -------------------------------------------------------------------------------------


class ClickStep(_Input):
    action: Literal["click"]
    selector: Selector
    timeout_ms: StepTimeoutMs | None = None


class FillStep(_Input):
    action: Literal["fill"]
    selector: Selector
    value: StepText
    timeout_ms: StepTimeoutMs | None = None


class PressStep(_Input):
    action: Literal["press"]
    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    selector: Selector | None = None
    timeout_ms: StepTimeoutMs | None = None


class HoverStep(_Input):
    action: Literal["hover"]
    selector: Selector
    timeout_ms: StepTimeoutMs | None = None


class ScrollStep(_Input):
    """Scroll by `y` pixels (default: one viewport), or bring `selector` into view."""

    action: Literal["scroll"]
    y: Annotated[int, Field(ge=-100_000, le=100_000)] | None = None
    selector: Selector | None = None
    timeout_ms: StepTimeoutMs | None = None


class WaitForStep(_Input):
    action: Literal["wait_for"]
    selector: Selector
    state: Literal["attached", "detached", "visible", "hidden"] = "visible"
    timeout_ms: StepTimeoutMs | None = None


class WaitStep(_Input):
    action: Literal["wait"]
    ms: Annotated[int, Field(ge=0, le=limits.MAX_STEP_WAIT_MS)]


Step = Annotated[
    ClickStep | FillStep | PressStep | HoverStep | ScrollStep | WaitForStep | WaitStep,
    Field(discriminator="action"),
]


# ---- session spec ------------------------------------------------------------------------------


class ProxySpec(_Input):
    server: Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_URL_LENGTH)]
    username: Annotated[str, StringConstraints(max_length=256)] | None = None
    password: SecretStr | None = None

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        if "@" in value:
            raise ValueError("put proxy credentials in username/password, not in the server URL")
        parse_proxy_server(value)  # strict scheme://host:port; raises ValueError naming the problem
        return value


class ExpectTls(_Input):
    min_days_left: Annotated[int, Field(ge=0, le=limits.MAX_TLS_MIN_DAYS_LEFT)] = 0


class Expect(_Input):
    analytics: Annotated[AnalyticsExpect | None, BeforeValidator(analytics_shorthand)] = Field(
        default=None,
        description="true (any collector hit) or rules: tags, events, no_duplicates, consent, within_ms",
    )
    requests: Annotated[list[RequestRule], Field(max_length=limits.MAX_ANALYTICS_RULES)] = Field(
        default_factory=list, description="assertions over every request the page makes"
    )
    web_vitals: WebVitalsBudget | None = None
    status: Annotated[int, Field(ge=100, le=599)] | None = None
    selector: Selector | None = None
    tls: ExpectTls | None = None


class Viewport(_Input):
    width: Annotated[int, Field(ge=limits.MIN_VIEWPORT_SIDE, le=limits.MAX_VIEWPORT_SIDE)] = 1280
    height: Annotated[int, Field(ge=limits.MIN_VIEWPORT_SIDE, le=limits.MAX_VIEWPORT_SIDE)] = 720


ArtifactMode = Literal["never", "on_failure", "always"]
ArtifactName = Literal["screenshot", "har", "trace", "console", "dom"]


class ArtifactOptions(_Input):
    """What evidence a session keeps. "on_failure" records from the start, uploads only on failure."""

    screenshot: ArtifactMode = "on_failure"
    har: ArtifactMode = "never"
    trace: ArtifactMode = "never"
    console: ArtifactMode = "on_failure"
    dom: ArtifactMode = "never"

    def wanted(self, name: ArtifactName, failed: bool) -> bool:
        mode: ArtifactMode = getattr(self, name)
        return mode == "always" or (mode == "on_failure" and failed)

    def recording(self, name: ArtifactName) -> bool:
        return bool(getattr(self, name) != "never")


class SessionSpec(_Input):
    url: HttpUrlText
    steps: Annotated[list[Step], Field(max_length=limits.MAX_STEPS_PER_SESSION)] = Field(default_factory=list)
    wait_until: WaitUntil = "load"
    timeout_s: Annotated[int, Field(ge=limits.MIN_TIMEOUT_S, le=limits.MAX_TIMEOUT_S)] = (
        limits.DEFAULT_TIMEOUT_S
    )
    block: list[ResourceType] = Field(
        default_factory=lambda: cast(list[ResourceType], list(limits.DEFAULT_BLOCKED_TYPES))
    )
    block_urls: Annotated[list[Selector], Field(max_length=50)] = Field(default_factory=list)
    max_bytes: Annotated[int, Field(ge=1024, le=limits.MAX_MAX_BYTES)] = limits.DEFAULT_MAX_BYTES
    proxy: ProxySpec | None = None
    expect: Expect = Field(default_factory=Expect)
    analytics_delivery: Literal["answer", "send"] = Field(
        default="answer",
        description="answer: collector requests get a 204 from the worker and never reach the vendor; "
        "send: they go out (each ledger entry then says delivered)",
    )
    screenshot: bool = False
    viewport: Viewport = Field(default_factory=Viewport)
    artifacts: ArtifactOptions = Field(default_factory=ArtifactOptions)
    locale: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None = None
    isolation: Literal["context", "tab"] = Field(
        default="context",
        description="context: a fresh browser context per session; tab: a warm tab that serves only this "
        "tenant, its visitor state wiped between sessions (about twice the sessions per CPU; what it does "
        "and does not isolate: README, 'Warm tabs'). A spec that records a HAR or a trace runs in a "
        "fresh context whatever this says",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_http_url(value)


class JobRequest(_Input):
    sessions: Annotated[list[SessionSpec], Field(min_length=1, max_length=limits.MAX_SESSIONS_PER_JOB)]
    priority: Priority = Priority.NORMAL
    labels: Annotated[dict[LabelText, LabelText], Field(max_length=limits.MAX_LABELS)] = Field(
        default_factory=dict
    )


# ---- results -----------------------------------------------------------------------------------


class ErrorInfo(BaseModel):
    type: ErrorType
    message: str


class Timings(BaseModel):
    queue_wait: int | None = None
    ttfb: int | None = None
    dom_content_loaded: int | None = None
    load: int | None = None
    total: int | None = None


class TlsInfo(BaseModel):
    """The main document's TLS connection and certificate, as the browser saw it."""

    protocol: str
    issuer: str | None = None
    subject: str | None = None
    valid_from: datetime
    valid_to: datetime
    days_left: int  # whole days from the page load to valid_to; negative once expired


class HistoryNote(BaseModel):
    at: datetime
    event: str = Field(description="what happened to the session, e.g. redriven (out of the dead letters)")
    note: str


class SessionCost(BaseModel):
    """What a session used and its estimated cost under the price file (`jobcore.session_cost`)."""

    cpu_s: float = Field(default=0.0, description="CPU-seconds: its share of the worker's process tree")
    wall_s: float = 0.0
    bytes: int = 0
    usd: float = 0.0


class ArtifactRef(BaseModel):
    """One stored artifact: `url` is s3:// in the stored result, a short-lived HTTPS link when read."""

    name: ArtifactName
    url: str | None = None
    bytes: int = 0
    content_type: str = "application/octet-stream"
    skipped: str | None = Field(
        default=None, description="why it was not stored (a cap, no bucket, an error)"
    )


class FailureContext(BaseModel):
    """Where a failed session stood when it failed: usually enough to say why from the row alone."""

    step_index: int | None = None
    step_action: str | None = None
    last_url: str | None = None
    title: str | None = None
    last_http_status: int | None = None
    last_console_error: str | None = None


class SessionResult(BaseModel):
    index: int
    url: str
    status: SessionStatus
    error: ErrorInfo | None = None
    http_status: int | None = None
    final_url: str | None = None
    timings_ms: Timings = Field(default_factory=Timings)
    bytes_in: int = Field(default=0, description="bytes received on the wire (headers, bodies, TLS)")
    bytes_out: int = Field(default=0, description="bytes sent on the wire")
    requests: int = 0
    blocked_requests: int = 0
    analytics: list[AnalyticsHit] = Field(
        default_factory=list, description=f"the hit ledger, at most {limits.MAX_LEDGER_ENTRIES} entries"
    )
    analytics_dropped: int = Field(default=0, description="ledger entries past the cap, not kept")
    analytics_verdict: AnalyticsVerdict | None = Field(
        default=None, description="the analytics and request assertions judged; null when none were asked"
    )
    web_vitals: WebVitals | None = None
    console_errors: list[str] = Field(default_factory=list)
    popups: int = Field(default=0, description="windows the page opened (a click's; each closed at once)")
    screenshot_url: str | None = None
    attempts: int = 0
    tls: TlsInfo | None = None  # HTTPS main documents only
    history: list[HistoryNote] = Field(
        default_factory=list,
        description="earlier runs of this session (a redrive notes the result it replaced)",
    )
    cost: SessionCost | None = None
    failure: FailureContext | None = None
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    isolation: Literal["context", "tab"] | None = Field(
        default=None,
        description="the level the session ran at: 'context' when it asked for 'tab' but records a HAR or "
        "a trace (a warm tab cannot); null when it did not run",
    )


class Progress(BaseModel):
    total: int
    queued: int
    running: int
    ok: int
    failed: int
    cancelled: int


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
    sessions: int


class JobSummary(BaseModel):
    job_id: str
    status: JobStatus
    priority: Priority
    created_at: datetime
    finished_at: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    progress: Progress


class JobView(JobSummary):
    started_at: datetime | None = None
    sessions: list[SessionResult]
    cost: SessionCost | None = Field(default=None, description="the sessions' costs summed")


class JobList(BaseModel):
    jobs: list[JobSummary]
    next_cursor: str | None = None


class PriorityDepth(BaseModel):
    high: int
    normal: int
    low: int


class HealthView(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    queue_depth: int
    queue_depth_by_priority: PriorityDepth
    running_sessions: int
    workers: int
    capacity: int
    dead_letters: int
    oldest_queued_age_s: float = Field(
        default=0.0, description="seconds the oldest session not yet claimed has waited (0 when none waits)"
    )


class ApiErrorBody(BaseModel):
    type: str
    message: str
    field: str | None = None


class ApiError(BaseModel):
    error: ApiErrorBody
