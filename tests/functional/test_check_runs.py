"""A check's life against a real Redis and a loopback receiver that verifies every signature.

Runs are dispatched as the schedule would, their sessions finished through the real queue (as a
worker would: one fails when the page is broken), then the notifier's settle and drain run. A flaky
failure the recheck passes sends nothing; two consecutive failures send one check.failing; the
repair sends one check.recovered; a dispatch delivered twice runs once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from jobcore import keys
from jobcore.check_models import CheckRequest, WebhookRequest
from jobcore.check_plane import CheckPlane, build
from jobcore.check_schedules import scheduled_time_text
from jobcore.constants import SessionStatus
from jobcore.errors import ErrorType
from jobcore.models import ErrorInfo, JobRequest, SessionResult, Timings
from jobcore.queue import JobQueue
from jobcore.settings import Settings
from jobcore.webhook_signing import verify
from tests.support.webhook_receiver import WebhookReceiver

TENANT = "tenant-a"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def plane(r: redis.Redis, settings: Settings) -> CheckPlane:
    return build(r, settings.model_copy(update={"api_url": "https://api.example/dev"}))


def finish_sessions(queue: JobQueue, page_ok: bool) -> int:
    """Every queued session ends as a worker would end it on a working (or broken) page."""
    done = 0
    for lease in queue.claim("test-worker", 50):
        if page_ok:
            result = SessionResult(
                index=lease.index,
                url="http://127.0.0.1:9/",
                status=SessionStatus.OK,
                http_status=200,
                timings_ms=Timings(total=420),
            )
        else:
            result = SessionResult(
                index=lease.index,
                url="http://127.0.0.1:9/",
                status=SessionStatus.FAILED,
                http_status=500,
                error=ErrorInfo(type=ErrorType.HTTP_ERROR, message="the page answered 500"),
            )
        assert queue.complete(lease, result)
        done += 1
    return done


def run_once(
    plane: CheckPlane, queue: JobQueue, check_id: str, when: float, first_ok: bool, recheck_ok: bool
) -> None:
    """One scheduled run: dispatch, the session ends, settle (and the recheck when one is queued), send."""
    assert plane.checks.dispatch(check_id, scheduled_time_text(when)) is not None
    assert finish_sessions(queue, first_ok) == 1
    report = plane.settler.settle()
    if report["rechecks"]:
        assert finish_sessions(queue, recheck_ok) == 1
        plane.settler.settle()
    plane.sender.drain()


def test_flaky_failures_are_quiet_an_incident_notifies_once_and_recovery_once(
    plane: CheckPlane, queue: JobQueue, receiver: WebhookReceiver
) -> None:
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=receiver.url()))
    receiver.secret = hook.secret
    check = plane.checks.create(
        TENANT,
        CheckRequest.model_validate(
            {
                "name": "home",
                "schedule": "rate(1 minute)",
                "job": {"sessions": [{"url": "http://127.0.0.1:9/"}]},
                "alert": {"after_failures": 2, "recheck": True, "webhooks": [hook.webhook_id]},
            }
        ),
    )
    t0 = time.time()
    outcomes = [
        (True, True),  # passes
        (False, True),  # flaky: the recheck passes → counts as passed, nothing sent
        (False, False),  # broken: 1st failure
        (False, False),  # 2nd consecutive failure → check.failing
        (False, False),  # still failing → nothing more
        (True, True),  # repaired → check.recovered
    ]
    for n, (first_ok, recheck_ok) in enumerate(outcomes):
        run_once(plane, queue, check.check_id, t0 + 60 * n, first_ok, recheck_ok)
        if n == 1:
            assert receiver.received == [], "a flaky failure must send nothing"

    assert [got.event for got in receiver.received] == ["check.failing", "check.recovered"]
    for got in receiver.received:
        assert got.signature_ok, got.signature_error
        # the receiver's own check: the signed timestamp is within the tolerance of its clock
        verify(hook.secret, got.headers["TrafficTool-Signature"], got.body, now=time.time())
    failing = receiver.received[0].payload
    assert failing["check"]["check_id"] == check.check_id and failing["check"]["state"] == "failing"
    assert failing["failures"][0]["error"]["type"] == "http_error"
    assert failing["job"]["url"] == f"https://api.example/dev/jobs/{failing['job']['job_id']}"
    assert failing["run"]["rechecked"] is True

    view = plane.checks.get(TENANT, check.check_id)
    assert view.state == "ok" and view.incident is None
    assert [run.ok for run in view.runs] == [True, False, False, False, True, True]  # newest first
    assert [run.rechecked for run in view.runs] == [False, True, True, True, True, False]


def test_a_check_paused_in_between_does_not_run(plane: CheckPlane, queue: JobQueue) -> None:
    check = plane.checks.create(
        TENANT,
        CheckRequest.model_validate(
            {
                "name": "x",
                "schedule": "rate(5 minutes)",
                "job": {"sessions": [{"url": "http://127.0.0.1:9/"}]},
                "enabled": False,
            }
        ),
    )
    assert plane.checks.dispatch(check.check_id, scheduled_time_text(time.time())) is None
    assert queue.claim("w", 5) == []


def test_a_schedule_delivered_twice_runs_the_check_once(
    plane: CheckPlane, queue: JobQueue, r: redis.Redis
) -> None:
    check = plane.checks.create(
        TENANT,
        CheckRequest.model_validate(
            {"name": "x", "schedule": "rate(1 minute)", "job": {"sessions": [{"url": "http://127.0.0.1:9/"}]}}
        ),
    )
    when = scheduled_time_text(time.time())
    first = plane.checks.dispatch(check.check_id, when)
    assert plane.checks.dispatch(check.check_id, when) == first  # EventBridge retried the invocation
    assert int(r.hget(keys.STATS, "backlog") or 0) == 1
    finish_sessions(queue, page_ok=True)
    plane.settler.settle()
    assert plane.checks.dispatch(check.check_id, when) == first  # even after the run settled
    assert plane.settler.settle()["settled"] == 0
    assert len(plane.checks.get(TENANT, check.check_id).runs) == 1
    assert plane.checks.dispatch(check.check_id, scheduled_time_text(time.time() + 60)) != first


def test_job_completed_goes_to_the_webhooks_that_want_it(
    plane: CheckPlane, queue: JobQueue, receiver: WebhookReceiver
) -> None:
    hook = plane.webhooks.create(TENANT, WebhookRequest(url=receiver.url(), events=["job.completed"]))
    receiver.secret = hook.secret
    other = plane.webhooks.create(
        "tenant-b", WebhookRequest(url=receiver.url("/b"), events=["job.completed"])
    )
    plane.settler.notify_completed_jobs()  # the first pass marks where it starts
    job = plane.jobs.submit(TENANT, JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}]}))
    finish_sessions(queue, page_ok=False)
    assert plane.settler.notify_completed_jobs() == 1
    plane.sender.drain()
    [got] = receiver.received
    assert got.signature_ok and got.event == "job.completed" and got.path == "/hook"
    assert (
        got.payload["job"]["job_id"] == job.job_id
        and got.payload["failures"][0]["error"]["type"] == "http_error"
    )
    assert other.webhook_id not in got.body.decode()


def test_transitions_are_published_to_the_stack_s_sns_topic(
    r: redis.Redis, settings: Settings, queue: JobQueue, aws: None
) -> None:
    import boto3

    from jobcore.check_runs import SnsAlertTopic

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="tt-check-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}
    )
    plane = build(r, settings, topic=SnsAlertTopic(topic))
    check = plane.checks.create(
        TENANT,
        CheckRequest.model_validate(
            {"name": "x", "schedule": "rate(1 minute)", "job": {"sessions": [{"url": "http://127.0.0.1:9/"}]},
             "alert": {"after_failures": 1, "recheck": False}}
        ),
    )  # fmt: skip
    t0 = time.time()
    for n, ok in enumerate([False, False, True]):
        run_once(plane, queue, check.check_id, t0 + 60 * n, ok, ok)
    got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    events = [json.loads(m["Body"])["event"] for m in got]
    assert events == ["check.failing", "check.recovered"]
