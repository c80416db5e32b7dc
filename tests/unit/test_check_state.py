"""The check state rule: one notification per transition, never one per failed run."""

from __future__ import annotations

from datetime import UTC, datetime

from jobcore.check_models import AlertRule, CheckRun, CheckState, CheckView
from jobcore.check_state import apply_run
from jobcore.models import JobRequest

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def check(**alert: object) -> CheckView:
    return CheckView(
        check_id="c" * 32,
        name="n",
        schedule="rate(1 minute)",
        job=JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1/"}]}),
        alert=AlertRule.model_validate(alert),
        enabled=True,
        created_at=NOW,
    )


def run(ok: bool, n: int = 0) -> CheckRun:
    return CheckRun(job_id=f"{n:032x}", scheduled_at=NOW, ok=ok)


def events(start: CheckView, outcomes: list[bool]) -> tuple[CheckView, list[str]]:
    said = []
    state = start
    for n, ok in enumerate(outcomes):
        state, event = apply_run(state, run(ok, n), NOW)
        if event is not None:
            said.append(event.value)
    return state, said


def test_after_failures_opens_one_incident_and_a_pass_closes_it() -> None:
    end, said = events(
        check(after_failures=3), [True, False, False, True, False, False, False, False, False, True]
    )
    assert said == ["check.failing", "check.recovered"]
    assert end.state == CheckState.OK and end.incident is None and end.consecutive_failures == 0


def test_the_incident_counts_its_failures_and_names_its_first_job() -> None:
    end, said = events(check(after_failures=2), [False, False, False])
    assert said == ["check.failing"] and end.state == CheckState.FAILING
    assert (
        end.incident is not None and end.incident.failures == 3 and end.incident.first_job_id == f"{1:032x}"
    )


def test_recovery_can_be_silent() -> None:
    _, said = events(check(after_failures=1, notify_recovery=False), [False, True])
    assert said == ["check.failing"]


def test_a_first_pass_leaves_pending_quietly() -> None:
    end, said = events(check(), [True])
    assert said == [] and end.state == CheckState.OK
