"""The results table shows each session's analytics verdict: the tags seen, then the problems."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from jobcore.analytics_models import AnalyticsHit, AnalyticsProblem, AnalyticsVerdict, ProblemType
from jobcore.constants import JobStatus, Priority, SessionStatus
from jobcore.errors import ErrorType
from jobcore.models import ErrorInfo, JobView, Progress, SessionResult
from traffic_tool.render import error_notes, results_table


def view() -> JobView:
    hit = AnalyticsHit(vendor="ga4", id="G-1", event="page_view")
    problems = [
        AnalyticsProblem(type=ProblemType.DUPLICATE_HIT, message="ga4 G-1 sent 'page_view' 2 times"),
        AnalyticsProblem(type=ProblemType.CONSENT_MISMATCH, message="expected consent state G111, saw G100"),
    ]
    sessions = [
        SessionResult(index=0, url="http://s/a", status=SessionStatus.OK, analytics=[hit],
                      analytics_verdict=AnalyticsVerdict(ok=True, tags_seen=["ga4:G-1"])),
        SessionResult(index=1, url="http://s/b", status=SessionStatus.FAILED, analytics=[hit],
                      error=ErrorInfo(type=ErrorType.EXPECTATION_FAILED, message=problems[0].message),
                      analytics_verdict=AnalyticsVerdict(ok=False, tags_seen=["ga4:G-1"], problems=problems)),
        SessionResult(index=2, url="http://s/c", status=SessionStatus.OK, analytics=[hit]),
    ]  # fmt: skip
    progress = Progress(total=3, queued=0, running=0, ok=2, failed=1, cancelled=0)
    return JobView(job_id="j1", status=JobStatus.COMPLETED, priority=Priority.NORMAL,
                   created_at=datetime.now(UTC), progress=progress, sessions=sessions)  # fmt: skip


def test_the_table_shows_verdicts_and_the_notes_every_problem() -> None:
    console = Console(width=200, record=True)
    console.print(results_table(view()))
    text = console.export_text()
    assert "ok ga4:G-1" in text
    assert "consent_mismatch, duplicate_hit · ga4:G-1" in text
    assert "ga4 G-1" in text  # no rules: the tags the ledger saw
    notes = error_notes(view())
    assert notes == [
        "#1 expectation_failed: ga4 G-1 sent 'page_view' 2 times",
        "#1   consent_mismatch: expected consent state G111, saw G100",
    ]
