"""The analytics part of the job contract: assertions in, the hit ledger and its verdict out.

Kept apart from `jobcore.models` (which imports these) so the rules, the ledger and the
verdict read as one thing. Every rule refuses what it cannot judge at submit time (unknown
vendor, a regex that could stall, min > max), with the field named, so nothing is queued.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from jobcore import limits
from jobcore.bounded_regex import UnsafeRegexError, check_bounded_regex

Vendor = Literal[
    "ga4",
    "universal_analytics",
    "google_tag_manager",
    "gtag",
    "segment",
    "plausible",
    "matomo",
    "meta_pixel",
    "custom",
]
VENDORS: tuple[str, ...] = Vendor.__args__  # type: ignore[attr-defined]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Glob = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_SELECTOR_LENGTH)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _count_shorthand(value: Any) -> Any:
    # "count": 1 means exactly one; "count": 0 means must not fire.
    if isinstance(value, int) and not isinstance(value, bool):
        return {"min": value, "max": value}
    return value


class CountRange(_Input):
    min: Annotated[int, Field(ge=0, le=10_000)] = 1
    max: Annotated[int, Field(ge=0, le=10_000)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    def allows(self, n: int) -> bool:
        return n >= self.min and (self.max is None or n <= self.max)

    def describe(self) -> str:
        if self.max == self.min:
            return f"exactly {self.min}"
        return f"at least {self.min}" if self.max is None else f"{self.min} to {self.max}"


Count = Annotated[CountRange, BeforeValidator(_count_shorthand)]


class ParamRule(_Input):
    equals: str | float | None = None
    matches: Annotated[str, StringConstraints(max_length=limits.MAX_REGEX_LENGTH)] | None = None
    exists: bool | None = None

    @field_validator("matches")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_bounded_regex(value)
            except UnsafeRegexError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _something(self) -> ParamRule:
        if self.equals is None and self.matches is None and self.exists is None:
            raise ValueError("give one of equals, matches or exists")
        return self


class TagRule(_Input):
    vendor: Vendor
    id: Name | None = None


class EventRule(_Input):
    name: Name
    vendor: Vendor | None = None
    id: Name | None = None
    count: Count | None = Field(
        default=None, description="an integer (exactly) or {min, max}; 0: must not fire"
    )
    params: Annotated[dict[Name, ParamRule], Field(max_length=limits.MAX_ANALYTICS_RULES)] = Field(
        default_factory=dict
    )


class AnalyticsExpect(_Input):
    """`true` is accepted for "any collector hit"; an object adds rules (every one optional)."""

    tags: list[TagRule] = Field(default_factory=list, max_length=limits.MAX_ANALYTICS_RULES)
    events: list[EventRule] = Field(default_factory=list, max_length=limits.MAX_ANALYTICS_RULES)
    no_duplicates: bool | None = Field(default=None, description="default: true when tags are given")
    consent: Annotated[str, StringConstraints(pattern=r"^G1[01-]{2}$")] | None = Field(
        default=None, description="the expected Google consent state, compared with each GA4 hit's gcs"
    )
    within_ms: Annotated[int, Field(ge=1, le=limits.MAX_WITHIN_MS)] | None = None
    collectors: list[Glob] = Field(
        default_factory=list,
        max_length=limits.MAX_ANALYTICS_RULES,
        description="extra collector URL globs (vendor 'custom'), recorded and answered like built-in ones",
    )

    def duplicates_checked(self) -> bool:
        return self.no_duplicates if self.no_duplicates is not None else bool(self.tags)


def analytics_shorthand(value: Any) -> Any:
    """`true` → an object with no rules (any hit); `false` → no analytics assertion."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


class RequestRule(_Input):
    url: Glob = Field(description="a glob over the full URL (* any characters)")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] | None = None
    count: Count | None = Field(
        default=None, description="an integer (exactly) or {min, max}; 0: must not happen"
    )


class WebVitalsBudget(_Input):
    ttfb_ms: Annotated[int, Field(ge=0)] | None = None
    fcp_ms: Annotated[int, Field(ge=0)] | None = None
    lcp_ms: Annotated[int, Field(ge=0)] | None = None
    cls: Annotated[float, Field(ge=0)] | None = None
    inp_ms: Annotated[int, Field(ge=0)] | None = None


# ---- results -----------------------------------------------------------------------------------

ParamValue = str | float


class AnalyticsHit(BaseModel):
    """One ledger entry: a collector request (or a tag script load) the session saw."""

    vendor: str
    id: str | None = None
    event: str | None = None
    kind: Literal["hit", "tag"] = Field(
        default="hit", description="hit: a collector request; tag: a tag script load"
    )
    params: dict[str, ParamValue] = Field(default_factory=dict)
    page_url: str | None = None
    t_ms: int | None = Field(default=None, description="milliseconds since the first navigation started")
    navigation: int = Field(default=0, description="which document of the main frame (0: the first)")
    step: int = Field(default=0, description="the step running when it fired (0: none, page load)")
    delivered: bool = Field(
        default=False, description="sent to the vendor (analytics_delivery 'send', and tag scripts)"
    )


class WebVitals(BaseModel):
    ttfb_ms: int | None = None
    fcp_ms: int | None = None
    lcp_ms: int | None = None
    cls: float | None = None
    inp_ms: int | None = None


class ProblemType(StrEnum):
    TAG_NOT_LOADED = "tag_not_loaded"
    TAG_LOADED_NO_HIT = "tag_loaded_no_hit"
    EVENT_MISSING = "event_missing"
    EVENT_COUNT = "event_count"
    PARAM_MISMATCH = "param_mismatch"
    DUPLICATE_HIT = "duplicate_hit"
    CONSENT_MISMATCH = "consent_mismatch"
    LATE_HIT = "late_hit"
    BLOCKED_BY_POLICY = "blocked_by_policy"
    REQUEST_ASSERTION = "request_assertion"


class AnalyticsProblem(BaseModel):
    type: ProblemType
    message: str
    rule: str | None = Field(
        default=None, description="the assertion that failed, e.g. expect.analytics.events[0]"
    )
    vendor: str | None = None
    id: str | None = None
    event: str | None = None
    expected: str | None = None
    seen: str | None = None
    status: int | None = Field(default=None, description="the tag script's HTTP status, when it answered")


class AnalyticsVerdict(BaseModel):
    ok: bool
    tags_seen: list[str] = Field(
        default_factory=list, description="vendor:id of every tag that loaded or sent"
    )
    problems: list[AnalyticsProblem] = Field(default_factory=list)
