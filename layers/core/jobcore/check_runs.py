"""Settling check runs: a finished run's verdict, the recheck, the state machine, the notifications.

Run by the scheduled sender (and the local stack's scheduler) before it drains the delivery queue.
A failed run with `recheck` is run again at once as a fresh job before it counts; only a state
transition notifies (webhooks of the check that want the event, and the stack's SNS topic).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import redis

from jobcore import keys, limits
from jobcore.check_models import CheckRun, CheckView, WebhookEvent
from jobcore.check_state import apply_run
from jobcore.checks import CheckService
from jobcore.constants import JobStatus, SessionStatus
from jobcore.errors import JobNotFoundError
from jobcore.models import JobView
from jobcore.redis_conn import store_errors
from jobcore.webhooks import WebhookService

_DONE = (JobStatus.COMPLETED, JobStatus.CANCELLED)


class AlertTopic(Protocol):
    def publish(self, subject: str, message: dict[str, Any]) -> None: ...


class SnsAlertTopic:
    """The stack's second channel: every transition is published to its SNS topic too."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns")
        self.client, self.topic_arn = client, topic_arn

    def publish(self, subject: str, message: dict[str, Any]) -> None:
        self.client.publish(
            TopicArn=self.topic_arn, Subject=subject[:100], Message=json.dumps(message, default=str)
        )


def failures_of(view: JobView) -> list[dict[str, Any]]:
    """The failing sessions, with what a person needs to act: the error and the analytics seen."""
    return [
        {
            "index": s.index,
            "url": s.url,
            "error": s.error.model_dump(mode="json") if s.error else None,
            "http_status": s.http_status,
            "analytics": [hit.model_dump(mode="json") for hit in s.analytics],
            "console_errors": s.console_errors[:5],
        }
        for s in view.sessions
        if s.status != SessionStatus.OK
    ]


def run_of(view: JobView, scheduled_at: str, first_job_id: str, rechecked: bool) -> CheckRun:
    ok = view.status == JobStatus.COMPLETED and all(s.status == SessionStatus.OK for s in view.sessions)
    duration = None
    if view.finished_at is not None:
        duration = int((view.finished_at - view.created_at).total_seconds() * 1000)
    return CheckRun(
        job_id=first_job_id,
        scheduled_at=datetime.fromisoformat(scheduled_at.replace("Z", "+00:00")),
        ok=ok,
        rechecked=rechecked,
        recheck_job_id=view.job_id if rechecked else None,
        duration_ms=duration,
        errors=[str(s.error.type) for s in view.sessions if s.error is not None],
    )


class CheckSettler:
    def __init__(
        self,
        client: redis.Redis,
        checks: CheckService,
        webhooks: WebhookService,
        api_url: str = "",
        topic: AlertTopic | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.r = client
        self.checks = checks
        self.webhooks = webhooks
        self.api_url = api_url.rstrip("/")
        self.topic = topic
        self.clock = clock

    def settle(self) -> dict[str, int]:
        """Every pending run whose job has ended is settled once. Returns counts."""
        report = {"settled": 0, "rechecks": 0, "notifications": 0}
        with store_errors():
            pending = {str(k): str(v) for k, v in self.r.hgetall(keys.CHECK_PENDING).items()}
        for job_id, raw in pending.items():
            entry = json.loads(raw)
            try:
                view = self.checks.jobs.get(entry["tenant"], job_id)
            except JobNotFoundError:
                view = None
            if view is not None and view.status not in _DONE:
                continue
            with store_errors():
                if not self.r.hdel(keys.CHECK_PENDING, job_id):
                    continue  # another settler took it
            found = self.checks.load(entry["check_id"])
            if view is None or found is None or found[0] != entry["tenant"]:
                continue  # the check (or its job) is gone: nothing to judge
            tenant, check = found
            outcome = self._settle_one(tenant, check, entry, view)
            report[outcome] = report.get(outcome, 0) + 1
            report["settled"] += outcome != "rechecks"
        return report

    def _settle_one(self, tenant: str, check: CheckView, entry: dict[str, Any], view: JobView) -> str:
        first_job = entry["recheck_of"] or view.job_id
        run = run_of(view, entry["scheduled_at"], first_job, rechecked=entry["recheck_of"] is not None)
        if not run.ok and check.alert.recheck and entry["recheck_of"] is None:
            # a fresh job (fresh session, any free worker) before the failure counts
            self.checks.submit_run(tenant, check, entry["scheduled_at"], recheck_of=view.job_id)
            return "rechecks"
        now = datetime.fromtimestamp(self.clock(), UTC)
        updated, event = apply_run(check, run, now)
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.lpush(keys.check_runs(check.check_id), run.model_dump_json())
            pipe.ltrim(keys.check_runs(check.check_id), 0, limits.CHECK_RUNS_KEPT - 1)
            pipe.execute()
        self.checks.save(tenant, updated)
        if event is None:
            return "quiet"
        self.notify(tenant, updated, event, run, view)
        return "notifications"

    def payload(self, check: CheckView, run: CheckRun, view: JobView) -> dict[str, Any]:
        return {
            "check": {
                "check_id": check.check_id,
                "name": check.name,
                "schedule": check.schedule,
                "state": check.state.value,
                "consecutive_failures": check.consecutive_failures,
                "incident": check.incident.model_dump(mode="json") if check.incident else None,
            },
            "run": run.model_dump(mode="json"),
            "job": self.job_summary(view),
            "failures": failures_of(view),
        }

    def job_summary(self, view: JobView) -> dict[str, Any]:
        return {
            "job_id": view.job_id,
            "status": view.status.value,
            "progress": view.progress.model_dump(),
            "url": f"{self.api_url}/jobs/{view.job_id}",
        }

    def notify(
        self, tenant: str, check: CheckView, event: WebhookEvent, run: CheckRun, view: JobView
    ) -> None:
        payload = self.payload(check, run, view)
        for webhook_id in self.webhooks.subscribed(tenant, event, among=check.alert.webhooks):
            self.webhooks.enqueue(tenant, webhook_id, event, payload)
        if self.topic is not None:
            self.topic.publish(
                f"{event.value}: {check.name}", {"event": event.value, "tenant": tenant, **payload}
            )

    def notify_completed_jobs(self, limit: int = 500) -> int:
        """`job.completed` for every job that finished since the last pass, to the webhooks that want it."""
        now = self.clock()
        with store_errors():
            cursor = self.r.get(keys.JOBS_NOTIFIED)
            if cursor is None:  # the first pass starts now: no flood of old completions
                self.r.set(keys.JOBS_NOTIFIED, repr(now))
                return 0
            raw = self.r.zrangebyscore(
                keys.FINISHED, f"({cursor!s}", "+inf", start=0, num=limit, withscores=True
            )
            finished = [(str(member), float(score)) for member, score in cast(list[tuple[str, float]], raw)]
        sent = 0
        wanted: dict[str, list[str]] = {}
        for job_id, _ in finished:
            with store_errors():
                found = self.r.hget(keys.job(job_id), keys.JobField.TENANT)
            if found is None:
                continue
            tenant = str(found)
            if tenant not in wanted:
                wanted[tenant] = self.webhooks.subscribed(tenant, WebhookEvent.JOB_COMPLETED)
            if wanted[tenant]:
                view = self.checks.jobs.get(tenant, job_id)
                payload = {"job": self.job_summary(view), "failures": failures_of(view)}
                for webhook_id in wanted[tenant]:
                    self.webhooks.enqueue(tenant, webhook_id, WebhookEvent.JOB_COMPLETED, payload)
                    sent += 1
        if finished:
            with store_errors():
                self.r.set(keys.JOBS_NOTIFIED, repr(finished[-1][1]))
        return sent
