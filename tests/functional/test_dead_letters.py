"""Dead letters against a real Redis: sessions dead-lettered by the reaper's own path, listed across
tenants, and redriven once each (twice, or twice at once, still queues once), then run to ok."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import api_handler
from jobcore import cold_start, keys
from jobcore.constants import DeadLetterReason, JobStatus, SessionStatus
from jobcore.dead_letters import DeadLetters
from jobcore.models import JobRequest, SessionResult
from jobcore.queue import JobQueue
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sessions(tenant: str, n: int) -> JobRequest:
    return JobRequest.model_validate(
        {"sessions": [{"url": f"http://127.0.0.1:9/{tenant}/{i}"} for i in range(n)]}
    )


@pytest.fixture
def dead(r: redis.Redis, redis_server: RedisServer) -> tuple[JobQueue, str, str]:
    """tenant-a's job (2 sessions) and then tenant-b's (1, its URL with a password), all claimed by a
    worker that died; with one attempt allowed, the reaper dead-letters all three as worker_died."""
    settings = Settings(redis_url=redis_server.url, lease_s=2, max_attempts=1)
    queue = JobQueue(r, settings)
    job_a = queue.enqueue("tenant-a", sessions("tenant-a", 2))
    job_b = queue.enqueue(
        "tenant-b", JobRequest.model_validate({"sessions": [{"url": "http://bob:hunter2@127.0.0.1:9/b"}]})
    )
    assert len(queue.claim("worker-that-died", 3)) == 3
    time.sleep(settings.lease_s + 0.3)
    assert queue.recover_stalled().dead_lettered == 3
    return queue, job_a, job_b


def test_dead_letters_are_listed_newest_first_with_their_last_error(dead: tuple[JobQueue, str, str]) -> None:
    queue, job_a, job_b = dead
    letters = DeadLetters(queue.r)
    page = letters.page(limit=2)
    assert [(d.job_id, d.tenant) for d in page.dead_letters] == [(job_b, "tenant-b"), (job_a, "tenant-a")]
    assert page.next_cursor == page.dead_letters[-1].id
    rest = letters.page(limit=2, cursor=page.next_cursor)
    assert [(d.job_id, d.session_index) for d in rest.dead_letters] == [
        (job_a, 0)
    ] and rest.next_cursor is None
    first = rest.dead_letters[0]
    assert first.reason is DeadLetterReason.WORKER_DIED and first.attempts == 1
    assert first.error.type == "browser_crash" and "stopped responding" in first.error.message
    assert first.url == "http://127.0.0.1:9/tenant-a/0"
    assert [d.job_id for d in letters.page(tenant="tenant-a").dead_letters] == [job_a, job_a]
    assert page.dead_letters[0].url == "http://bob:***@127.0.0.1:9/b"  # secrets stay masked
    assert letters.page(reason=DeadLetterReason.TIMEOUT).dead_letters == []
    assert letters.get(first.id) == first


def test_a_redrive_queues_the_session_once_however_often_it_is_asked(dead: tuple[JobQueue, str, str]) -> None:
    queue, job_a, _ = dead
    store, letters = JobStore(queue.r), DeadLetters(queue.r)
    assert store.get("tenant-a", job_a).status is JobStatus.COMPLETED
    entry = next(d for d in letters.page(tenant="tenant-a").dead_letters if d.session_index == 0)
    stream = keys.stream("normal", "tenant-a")
    entries_before = queue.r.xlen(stream)

    # When two operators redrive the same entry at the same moment, and one of them again
    outcomes: list[str] = []
    racers = [
        threading.Thread(
            target=lambda: outcomes.extend(o.outcome for o in letters.redrive([entry.id]).outcomes)
        )
        for _ in range(2)
    ]
    for t in racers:
        t.start()
    for t in racers:
        t.join(10)
    outcomes += [o.outcome for o in letters.redrive([entry.id]).outcomes]

    # Then the session was queued exactly once, as a first attempt, with a note in its history
    assert sorted(outcomes) == ["gone", "gone", "requeued"]
    assert queue.r.xlen(stream) == entries_before + 1
    assert queue.r.hget(keys.STATS, "backlog") == "1" and queue.r.hget(keys.TENANT_QUEUED, "tenant-a") == "1"
    assert queue.r.xlen(keys.DEAD_LETTER) == 2 and letters.get(entry.id) is None
    view = store.get("tenant-a", job_a)
    session = view.sessions[0]
    assert view.status is JobStatus.RUNNING and view.finished_at is None  # open again (it had started)
    assert (session.status, session.attempts, session.error) == (SessionStatus.QUEUED, 0, None)
    [note] = session.history
    assert note.event == "redriven" and "worker_died" in note.note and "browser_crash" in note.note
    assert queue.r.zscore(keys.FINISHED, job_a) is None and queue.r.ttl(keys.job(job_a)) == -1

    # And once it runs, ok this time, the job completes again with the history kept
    [lease] = queue.claim("worker-2", 5)
    assert (lease.job_id, lease.index, lease.attempt) == (job_a, 0, 1)
    ok = SessionResult(index=0, url=lease.spec.url, status=SessionStatus.OK)
    assert queue.complete(lease, ok)
    view = store.get("tenant-a", job_a)
    assert view.status is JobStatus.COMPLETED and (view.progress.ok, view.progress.failed) == (1, 1)
    assert view.sessions[0].status is SessionStatus.OK and view.sessions[0].attempts == 1
    assert [n.event for n in view.sessions[0].history] == ["redriven"]
    assert queue.r.zscore(keys.FINISHED, job_a) is not None


@pytest.fixture
def api_env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    cold_start.reset()
    yield
    cold_start.reset()


def call(body: dict[str, Any], role: str = "operator") -> tuple[int, dict[str, Any]]:
    evt = json.loads((EVENTS / "redrive_dead_letters.json").read_text())
    evt["body"] = json.dumps(body)
    evt["requestContext"]["authorizer"] = {"tenant": "ops", "role": role, "principalId": "ops"}
    reply = api_handler.lambda_handler(evt, LocalContext(function_name="ApiFunction"))
    return reply["statusCode"], json.loads(reply["body"])


@pytest.mark.usefixtures("api_env")
def test_redrive_by_filter_over_the_api_is_audited_and_refused_to_tenants(
    dead: tuple[JobQueue, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    queue, job_a, job_b = dead
    status, body = call({"tenant": "tenant-b"}, role="tenant")
    assert status == 403 and queue.r.xlen(keys.DEAD_LETTER) == 3  # nothing changed
    status, body = call({"ids": ["1-0"], "tenant": "tenant-b"})
    assert status == 400 and "not both" in body["error"]["message"]

    status, body = call({"tenant": "tenant-a"})
    assert status == 200 and body["requeued"] == 2, body
    assert {o["job_id"] for o in body["outcomes"]} == {job_a} and queue.r.xlen(keys.DEAD_LETTER) == 1
    [record] = [r.audit for r in caplog.records if hasattr(r, "audit")]
    assert record["operator"] == "ops" and record["action"] == "redrive"
    assert (
        sorted(record["requeued"]) == [f"{job_a}/0", f"{job_a}/1"]
        and record["request"]["tenant"] == "tenant-a"
    )
    assert "Bearer" not in json.dumps(record) and "tok" not in json.dumps(record)

    # tenant-b's job ended and dropped the URL's password: re-running it could only fail, so it stays
    status, body = call({"tenant": "tenant-b"})
    assert status == 200 and body["requeued"] == 0 and body["outcomes"][0]["outcome"] == "secrets_gone"
    assert body["outcomes"][0]["job_id"] == job_b and queue.r.xlen(keys.DEAD_LETTER) == 1
