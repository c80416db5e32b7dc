"""The evidence a verdict is judged from: what the worker saw of a session's analytics and requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jobcore.analytics_models import AnalyticsHit


@dataclass(frozen=True)
class TagLoad:
    """A tag script the page requested, and how it ended."""

    vendor: str
    id: str | None
    url: str
    status: int | None = None  # the HTTP status, once it answered
    failure: str | None = None  # the network error, when it failed
    by_policy: str | None = None  # why our own guard stopped it, when it did

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400 and not self.failure and not self.by_policy


@dataclass(frozen=True)
class SeenRequest:
    url: str
    method: str


@dataclass
class Evidence:
    ledger: Sequence[AnalyticsHit]
    tag_loads: Sequence[TagLoad] = ()
    requests: Sequence[SeenRequest] = ()
    navigation_starts_ms: Sequence[int] = (0,)
    step_starts_ms: dict[int, int] = field(default_factory=dict)
    policy_stop: str | None = None  # our guard ended the session early (max_bytes, a crash we caused)
    csp_blocked: Sequence[str] = ()  # URLs the page's Content-Security-Policy refused

    @property
    def hits(self) -> list[AnalyticsHit]:
        return [h for h in self.ledger if h.kind == "hit"]
