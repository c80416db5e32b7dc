"""Recurring checks: CRUD per tenant, their schedules, and dispatch (a run submitted as a job).

A run is a job submitted through the same `JobService` (egress guard, admission, idempotency) with
the idempotency key `check:<id>:<scheduled time>`, so a schedule invocation delivered twice (EventBridge
Scheduler is at-least-once) runs the check once. Settling finished runs lives in `jobcore.check_runs`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis

from jobcore import keys, limits
from jobcore.check_models import (
    CheckList,
    CheckPatch,
    CheckRequest,
    CheckRun,
    CheckRunAccepted,
    CheckSummary,
    CheckView,
)
from jobcore.check_schedules import ScheduleBackend, scheduled_time_text
from jobcore.errors import CheckNotFoundError, InvalidRequestError, LimitReachedError
from jobcore.jobs import JobService
from jobcore.models import JobRequest
from jobcore.redis_conn import store_errors
from jobcore.webhooks import WebhookService


def check_labels(check_id: str, scheduled_time: str) -> dict[str, str]:
    """Labels every run's job carries, so the archive of a job says which check ran it and when."""
    return {"check_id": check_id, "check_scheduled_at": scheduled_time[:128]}


class CheckService:
    def __init__(
        self, client: redis.Redis, jobs: JobService, schedules: ScheduleBackend, webhooks: WebhookService
    ) -> None:
        self.r = client
        self.jobs = jobs
        self.schedules = schedules
        self.webhooks = webhooks

    # ---- storage ---------------------------------------------------------------------------------

    def load(self, check_id: str) -> tuple[str, CheckView] | None:
        """(tenant, check) or None; for the dispatcher and the settler, which have no tenant yet."""
        with store_errors():
            raw = self.r.get(keys.check(check_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return data.pop("tenant"), CheckView.model_validate(data)

    def save(self, tenant: str, check: CheckView) -> None:
        data = check.model_dump(mode="json", exclude={"runs"})
        with store_errors():
            self.r.set(keys.check(check.check_id), json.dumps({**data, "tenant": tenant}))

    def _owned(self, tenant: str, check_id: str) -> CheckView:
        found = self.load(check_id)
        if found is None or found[0] != tenant:
            raise CheckNotFoundError(check_id)
        return found[1]

    def runs(self, check_id: str) -> list[CheckRun]:
        with store_errors():
            raws = self.r.lrange(keys.check_runs(check_id), 0, limits.CHECK_RUNS_KEPT - 1)
        return [CheckRun.model_validate_json(raw) for raw in raws]

    # ---- the API's use cases ---------------------------------------------------------------------

    def _check_inputs(self, tenant: str, job: JobRequest, webhook_ids: list[str]) -> None:
        """Everything a check refers to is checked before anything is written."""
        self.jobs.check_targets(job)
        mine = {w.webhook_id for w in self.webhooks.list_all(tenant).webhooks}
        for index, webhook_id in enumerate(webhook_ids):
            if webhook_id not in mine:
                raise InvalidRequestError(f"alert.webhooks[{index}]: no webhook {webhook_id} for this tenant")

    def create(self, tenant: str, request: CheckRequest, now: float | None = None) -> CheckView:
        self._check_inputs(tenant, request.job, request.alert.webhooks)
        with store_errors():
            if self.r.zcard(keys.tenant_checks(tenant)) >= limits.MAX_CHECKS_PER_TENANT:
                raise LimitReachedError(
                    f"a tenant may have at most {limits.MAX_CHECKS_PER_TENANT} checks; delete one first"
                )
        now = time.time() if now is None else now
        check = CheckView(
            check_id=uuid.uuid4().hex,
            name=request.name,
            schedule=request.schedule,
            job=request.job,
            alert=request.alert,
            enabled=request.enabled,
            created_at=datetime.fromtimestamp(now, UTC),
        )
        self.save(tenant, check)
        with store_errors():
            self.r.zadd(keys.tenant_checks(tenant), {check.check_id: now})
        try:
            self.schedules.create(tenant, check.check_id, check.schedule, check.enabled)
        except Exception:
            self._forget(tenant, check.check_id)  # no check without its schedule
            raise
        return check

    def list(self, tenant: str) -> CheckList:
        with store_errors():
            ids = [str(i) for i in self.r.zrange(keys.tenant_checks(tenant), 0, -1)]
            raws = self.r.mget([keys.check(i) for i in ids]) if ids else []
        checks = [CheckView.model_validate({**json.loads(raw), "runs": []}) for raw in raws if raw]
        return CheckList(
            checks=[
                CheckSummary(
                    check_id=c.check_id, name=c.name, schedule=c.schedule, enabled=c.enabled, state=c.state
                )
                for c in checks
            ]
        )

    def get(self, tenant: str, check_id: str) -> CheckView:
        check = self._owned(tenant, check_id)
        return check.model_copy(update={"runs": self.runs(check_id)})

    def patch(self, tenant: str, check_id: str, patch: CheckPatch) -> CheckView:
        check = self._owned(tenant, check_id)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        updated = check.model_copy(
            update={name: getattr(patch, name) for name in changes}  # the models, not their dumps
        )
        self._check_inputs(tenant, updated.job, updated.alert.webhooks)
        self.schedules.update(tenant, check_id, updated.schedule, updated.enabled)
        self.save(tenant, updated)
        return updated.model_copy(update={"runs": self.runs(check_id)})

    def delete(self, tenant: str, check_id: str) -> None:
        self._owned(tenant, check_id)
        self.schedules.delete(check_id)
        self._forget(tenant, check_id)

    def _forget(self, tenant: str, check_id: str) -> None:
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.delete(keys.check(check_id), keys.check_runs(check_id))
            pipe.zrem(keys.tenant_checks(tenant), check_id)
            pipe.execute()

    def run_now(self, tenant: str, check_id: str, now: float | None = None) -> CheckRunAccepted:
        self._owned(tenant, check_id)
        scheduled = scheduled_time_text(time.time() if now is None else now)
        job_id = self.dispatch(check_id, scheduled, manual=True)
        assert job_id is not None
        return CheckRunAccepted(
            check_id=check_id, job_id=job_id, scheduled_at=datetime.fromisoformat(scheduled)
        )

    # ---- dispatch (the scheduled function) -------------------------------------------------------

    def dispatch(self, check_id: str, scheduled_time: str, manual: bool = False) -> str | None:
        """Submit the run due at `scheduled_time`, once however often it is asked; the job id, or
        None when the check is gone or paused (a schedule can fire once more after a change)."""
        found = self.load(check_id)
        if found is None:
            return None
        tenant, check = found
        if not check.enabled and not manual:
            return None
        return self.submit_run(tenant, check, scheduled_time, recheck_of=None)

    def submit_run(self, tenant: str, check: CheckView, scheduled_time: str, recheck_of: str | None) -> str:
        job = check.job.model_copy(
            update={"labels": {**check.job.labels, **check_labels(check.check_id, scheduled_time)}}
        )
        suffix = ":recheck" if recheck_of else ""
        key = f"check:{check.check_id}:{scheduled_time}{suffix}"[: limits.MAX_IDEMPOTENCY_KEY_LENGTH]
        accepted = self.jobs.submit(tenant, job, idempotency_key=key)
        pending: dict[str, Any] = {
            "check_id": check.check_id,
            "tenant": tenant,
            "scheduled_at": scheduled_time,
            "recheck_of": recheck_of,
        }
        with store_errors():
            # The first dispatch of this run marks it; a repeat finds the mark and adds nothing,
            # even after the run has settled and left the pending list.
            first = self.r.set(
                keys.check_run_marker(accepted.job_id), "1", nx=True, ex=limits.IDEMPOTENCY_TTL_S
            )
            if first:
                self.r.hset(keys.CHECK_PENDING, accepted.job_id, json.dumps(pending))
        return accepted.job_id
