"""/checks and /webhooks through the API function against a real Redis: validation naming the field,
limits, the secret shown once, tenancy, and webhook URLs the egress guard refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import api_service
from jobcore import cold_start, keys, limits
from tests.support.api_events import call
from tests.support.redis_server import RedisServer

JOB = {"sessions": [{"url": "http://127.0.0.1:9/page"}]}


@pytest.fixture(autouse=True)
def env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_ALLOW_TARGETS", "127.0.0.1/32")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("TRAFFIC_TOOL_CHECK_SCHEDULE_GROUP", raising=False)
    cold_start.reset()
    api_service.service().queue.r.flushall()
    yield
    cold_start.reset()


def check_body(**changes: Any) -> dict[str, Any]:
    return {"name": "home page", "schedule": "rate(5 minutes)", "job": JOB, **changes}


def stored_keys() -> int:
    """Keys a request stored, leaving out the request counters (flushed at most once a second, whenever)."""
    r = api_service.service().queue.r
    return sum(1 for key in r.scan_iter() if not _as_text(key).startswith(keys.TELEMETRY))


def _as_text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key


def test_a_check_is_created_read_listed_paused_and_deleted() -> None:
    status, hook = call("POST", "/webhooks", body={"url": "http://127.0.0.1:9/hook"})
    assert status == 201 and hook["secret"].startswith("whsec_")
    status, check = call("POST", "/checks", body=check_body(alert={"webhooks": [hook["webhook_id"]]}))
    assert status == 201, check
    assert check["state"] == "pending" and check["runs"] == [] and check["alert"]["after_failures"] == 2
    check_id = check["check_id"]
    r = api_service.service().queue.r
    assert r.zscore(keys.CHECK_SCHEDULES, check_id) is not None  # the local stack's schedule

    assert call("GET", f"/checks/{check_id}")[1]["name"] == "home page"
    assert [c["check_id"] for c in call("GET", "/checks")[1]["checks"]] == [check_id]
    status, paused = call("PATCH", f"/checks/{check_id}", body={"enabled": False})
    assert status == 200 and paused["enabled"] is False and paused["name"] == "home page"
    assert r.zscore(keys.CHECK_SCHEDULES, check_id) is None  # a paused check has no due time

    status, _ = call("DELETE", f"/checks/{check_id}")
    assert status == 204
    assert call("GET", f"/checks/{check_id}")[0] == 404


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("rate(30 seconds)", "minute(s), hour(s) or day(s)"),
        ("rate(1 minutes)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("cron(0 12 * * *)", "six"),
        ("cron(0 12 * * MON *)", "exactly one of day-of-month and day-of-week"),
        ("cron(61 * * * ? *)", "outside minutes's range"),
        ("cron(0 0 31 2 ? *)", "never fires"),
        ("at(2030-01-01T00:00:00)", "runs once"),
        ("every 5 minutes", "is not a schedule"),
    ],
)
def test_invalid_schedules_are_refused_with_the_reason(schedule: str, reason: str) -> None:
    status, body = call("POST", "/checks", body=check_body(schedule=schedule))
    assert status == 400
    assert body["error"]["field"] == "schedule" and reason in body["error"]["message"]
    assert stored_keys() == 0


def test_a_refused_target_or_an_unknown_webhook_writes_nothing() -> None:
    status, body = call("POST", "/checks", body=check_body(job={"sessions": [{"url": "http://10.0.0.1/"}]}))
    assert status == 400 and "private" in body["error"]["message"]
    status, body = call("POST", "/checks", body=check_body(alert={"webhooks": ["0" * 32]}))
    assert status == 400 and "alert.webhooks[0]" in body["error"]["message"]
    assert stored_keys() == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.2:9/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://2130706434/", "127.0.0.2 is a loopback"),
        ("ftp://127.0.0.1/", "scheme"),
    ],
)
def test_webhook_urls_the_egress_guard_refuses(url: str, reason: str) -> None:
    status, body = call("POST", "/webhooks", body={"url": url})
    assert status == 400 and reason in body["error"]["message"], body
    assert stored_keys() == 0


def test_the_secret_is_shown_once() -> None:
    _, hook = call("POST", "/webhooks", body={"url": "http://127.0.0.1:9/hook", "events": ["job.completed"]})
    listed = call("GET", "/webhooks")[1]["webhooks"]
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]
    assert hook["secret"] not in str(call("GET", f"/webhooks/{hook['webhook_id']}/deliveries")[1])


def test_limits_per_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_WEBHOOKS_PER_TENANT", 1)
    assert call("POST", "/webhooks", body={"url": "http://127.0.0.1:9/a"})[0] == 201
    status, body = call("POST", "/webhooks", body={"url": "http://127.0.0.1:9/b"})
    assert status == 409 and body["error"]["type"] == "limit_reached"
    assert call("POST", "/webhooks", tenant="tenant-b", body={"url": "http://127.0.0.1:9/b"})[0] == 201


def test_tenant_b_can_neither_see_run_change_nor_delete_tenant_a_s_checks_and_webhooks() -> None:
    _, hook = call("POST", "/webhooks", body={"url": "http://127.0.0.1:9/hook"})
    _, check = call("POST", "/checks", body=check_body())
    check_id, hook_id = check["check_id"], hook["webhook_id"]
    for method, path, body in [
        ("GET", f"/checks/{check_id}", None),
        ("PATCH", f"/checks/{check_id}", {"enabled": False}),
        ("POST", f"/checks/{check_id}/run", None),
        ("DELETE", f"/checks/{check_id}", None),
        ("GET", f"/webhooks/{hook_id}/deliveries", None),
        ("POST", f"/webhooks/{hook_id}/test", None),
        ("DELETE", f"/webhooks/{hook_id}", None),
    ]:
        status, _ = call(method, path, tenant="tenant-b", body=body)
        assert status == 404, (method, path)
    assert call("GET", "/checks", tenant="tenant-b")[1] == {"checks": []}
    assert call("GET", "/webhooks", tenant="tenant-b")[1] == {"webhooks": []}
    # B cannot point its own check's alerts at A's webhook either
    status, body = call("POST", "/checks", tenant="tenant-b", body=check_body(alert={"webhooks": [hook_id]}))
    assert status == 400 and "alert.webhooks[0]" in body["error"]["message"]
    # and A's check is untouched
    assert call("GET", f"/checks/{check_id}")[1]["enabled"] is True


def test_run_now_queues_the_check_s_job() -> None:
    _, check = call("POST", "/checks", body=check_body())
    status, accepted = call("POST", f"/checks/{check['check_id']}/run")
    assert status == 202
    status, job = call("GET", f"/jobs/{accepted['job_id']}")
    assert status == 200 and job["labels"]["check_id"] == check["check_id"]
