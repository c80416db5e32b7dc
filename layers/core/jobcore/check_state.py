"""A check's state after a settled run: a pure function, so the rule can be read and tested on its own.

`ok → failing` after `after_failures` consecutive failed runs (a failed run that a recheck passed
counts as passed), `failing → ok` on the first passing run. Only those two transitions notify, so
an incident makes one `check.failing` and one `check.recovered`, never one message per failed run.
"""

from __future__ import annotations

from datetime import datetime

from jobcore.check_models import CheckRun, CheckState, CheckView, Incident, WebhookEvent


def apply_run(check: CheckView, run: CheckRun, now: datetime) -> tuple[CheckView, WebhookEvent | None]:
    """The check after `run` (settled: `run.ok` is known) and the transition to announce, if any."""
    if run.ok:
        if check.state == CheckState.FAILING:
            event = WebhookEvent.CHECK_RECOVERED if check.alert.notify_recovery else None
            return check.model_copy(
                update={"state": CheckState.OK, "consecutive_failures": 0, "incident": None}
            ), event
        return check.model_copy(update={"state": CheckState.OK, "consecutive_failures": 0}), None
    failures = check.consecutive_failures + 1
    if check.state == CheckState.FAILING and check.incident is not None:
        incident = check.incident.model_copy(update={"failures": check.incident.failures + 1})
        return check.model_copy(update={"consecutive_failures": failures, "incident": incident}), None
    if failures >= check.alert.after_failures:
        incident = Incident(opened_at=now, first_job_id=run.job_id, failures=failures)
        opened = check.model_copy(
            update={"state": CheckState.FAILING, "consecutive_failures": failures, "incident": incident}
        )
        return opened, WebhookEvent.CHECK_FAILING
    return check.model_copy(update={"consecutive_failures": failures}), None
