"""Where a check's schedule lives: one EventBridge Scheduler schedule per check in the stack's group,
or, on the local stack, a due-time in Redis that the local scheduler claims (with `--speed`).

Both invoke the same dispatch handler with the same event, so the cloud and the local stack
run a check the same way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import redis

from jobcore import keys
from jobcore.errors import ScheduleBackendError
from jobcore.redis_conn import store_errors
from jobcore.schedule_expr import parse
from jobcore.settings import Settings

# Scheduler fills these in per invocation; the dispatch handler reads `scheduled_time`.
DISPATCH_INPUT_TEMPLATE = {
    "schedule": "check",
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "execution_id": "<aws.scheduler.execution-id>",
    "attempt": "<aws.scheduler.attempt-number>",
}


class ScheduleBackend(Protocol):
    def create(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None: ...

    def update(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None: ...

    def delete(self, check_id: str) -> None: ...


def dispatch_input(tenant: str, check_id: str) -> dict[str, str]:
    return {**DISPATCH_INPUT_TEMPLATE, "check_id": check_id, "tenant": tenant}


class EventBridgeSchedules:
    """One schedule per check, named by the check id, in the stack's group (names unique per stack)."""

    def __init__(self, group: str, target_arn: str, role_arn: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("scheduler")
        self.client = client
        self.group, self.target_arn, self.role_arn = group, target_arn, role_arn

    def _definition(self, tenant: str, check_id: str, expression: str, enabled: bool) -> dict[str, Any]:
        return {
            "Name": check_id,
            "GroupName": self.group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if enabled else "DISABLED",
            "Description": f"traffic-tool check {check_id} of {tenant}",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps(dispatch_input(tenant, check_id)),
                # a retried invocation is harmless: dispatch is idempotent on check id + scheduled time
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 300},
            },
        }

    def create(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None:
        self._call("create_schedule", self._definition(tenant, check_id, expression, enabled))

    def update(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None:
        self._call("update_schedule", self._definition(tenant, check_id, expression, enabled))

    def delete(self, check_id: str) -> None:
        try:
            self.client.delete_schedule(Name=check_id, GroupName=self.group)
        except self.client.exceptions.ResourceNotFoundException:
            return  # already gone: deleting twice is fine
        except Exception as exc:
            raise ScheduleBackendError(
                f"EventBridge Scheduler refused to delete the schedule: {exc}"
            ) from exc

    def _call(self, operation: str, definition: dict[str, Any]) -> None:
        try:
            getattr(self.client, operation)(**definition)
        except Exception as exc:
            raise ScheduleBackendError(f"EventBridge Scheduler refused the schedule: {exc}") from exc


@dataclass(frozen=True)
class DueCheck:
    check_id: str
    tenant: str
    scheduled_time: str

    def event(self) -> dict[str, str]:
        return {**dispatch_input(self.tenant, self.check_id), "scheduled_time": self.scheduled_time}


def scheduled_time_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RedisSchedules:
    """The local stack's schedules: next due time per check in a sorted set, `speed` times faster."""

    def __init__(self, client: redis.Redis, speed: float = 1.0) -> None:
        self.r = client
        self.speed = speed

    def _next_due(self, expression: str, after: float) -> float | None:
        moment = datetime.fromtimestamp(after, UTC)
        fire = parse(expression, moment).next_after(moment)
        return None if fire is None else after + (fire.timestamp() - after) / self.speed

    def create(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None:
        self.update(tenant, check_id, expression, enabled)

    def update(self, tenant: str, check_id: str, expression: str, enabled: bool) -> None:
        due = self._next_due(expression, time.time()) if enabled else None
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(keys.CHECK_SCHEDULE_EXPR, check_id, f"{tenant} {expression}")
            if due is None:
                pipe.zrem(keys.CHECK_SCHEDULES, check_id)
            else:
                pipe.zadd(keys.CHECK_SCHEDULES, {check_id: due})
            pipe.execute()

    def delete(self, check_id: str) -> None:
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.zrem(keys.CHECK_SCHEDULES, check_id)
            pipe.hdel(keys.CHECK_SCHEDULE_EXPR, check_id)
            pipe.execute()

    def claim_due(self, now: float | None = None, limit: int = 100) -> list[DueCheck]:
        """The checks due by `now`, each moved on to its next due time (one local scheduler claims)."""
        now = time.time() if now is None else now
        with store_errors():
            raw = self.r.zrangebyscore(keys.CHECK_SCHEDULES, "-inf", now, start=0, num=limit, withscores=True)
            due = [(str(member), float(score)) for member, score in cast(list[tuple[str, float]], raw)]
            if not due:
                return []
            entries = self.r.hmget(keys.CHECK_SCHEDULE_EXPR, [check_id for check_id, _ in due])
        claimed: list[DueCheck] = []
        pipe = self.r.pipeline(transaction=False)
        for (check_id, score), entry in zip(due, entries, strict=True):
            if entry is None:
                pipe.zrem(keys.CHECK_SCHEDULES, check_id)
                continue
            tenant, _, expression = str(entry).partition(" ")
            following = self._next_due(expression, max(score, now - 1))
            if following is None:
                pipe.zrem(keys.CHECK_SCHEDULES, check_id)
            else:
                pipe.zadd(keys.CHECK_SCHEDULES, {check_id: following}, xx=True)
            claimed.append(DueCheck(check_id, tenant, scheduled_time_text(score)))
        with store_errors():
            pipe.execute()
        return claimed


def schedule_backend(client: redis.Redis, settings: Settings) -> ScheduleBackend:
    """EventBridge Scheduler when the stack names a schedule group, else the local stack's Redis."""
    if settings.check_schedule_group:
        return EventBridgeSchedules(
            settings.check_schedule_group, settings.dispatch_function_arn, settings.check_scheduler_role_arn
        )
    return RedisSchedules(client, settings.schedule_speed)
