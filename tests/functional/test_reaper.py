"""The reaper function against a real Redis, driven with events/reaper.json: stalled sessions are
re-queued once each even when two runs overlap, and dead-lettered with the reason past the limit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import reaper_handler
from jobcore import cold_start, keys
from jobcore.constants import JobStatus, SessionStatus
from jobcore.errors import ErrorType
from jobcore.models import JobRequest
from jobcore.queue import JobQueue
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "reaper.json").read_text()
)


@pytest.fixture
def env(redis_server: RedisServer, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_LEASE_S", str(settings.lease_s))
    cold_start.reset()
    yield
    cold_start.reset()


def invoke() -> dict[str, Any]:
    reply: dict[str, Any] = reaper_handler.lambda_handler(EVENT, LocalContext(function_name="ReaperFunction"))
    return reply


def sessions(n: int) -> JobRequest:
    return JobRequest.model_validate({"sessions": [{"url": f"http://127.0.0.1:9/{i}"} for i in range(n)]})


def stall(queue: JobQueue, settings: Settings, jobs: int, per_job: int) -> set[tuple[str, int]]:
    """Jobs whose sessions a worker claimed and then died holding: every lease runs out."""
    for _ in range(jobs):
        queue.enqueue("tenant-a", sessions(per_job))
    claimed = {(lease.job_id, lease.index) for lease in queue.claim("worker-that-died", jobs * per_job)}
    assert len(claimed) == jobs * per_job
    time.sleep(settings.lease_s + 0.3)
    return claimed


@pytest.mark.usefixtures("env")
def test_two_overlapping_reaper_runs_requeue_each_stalled_session_exactly_once(
    queue: JobQueue, r: redis.Redis, settings: Settings
) -> None:
    # Given 200 sessions stalled in the hands of a dead worker, and a warm reaper (no cold start in the race)
    assert invoke()["requeued"] == 0
    stalled = stall(queue, settings, jobs=4, per_job=50)

    # When two reaper invocations run at the same time
    start = threading.Barrier(2)
    replies: list[dict[str, Any]] = []

    def run() -> None:
        start.wait()
        replies.append(invoke())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    # Then between them each session was re-queued exactly once, and both took part (they overlapped)
    assert len(replies) == 2
    assert sum(reply["requeued"] for reply in replies) == 200
    assert sum(reply["dead_lettered"] for reply in replies) == 0
    assert all(reply["requeued"] + reply["skipped"] > 0 for reply in replies), replies
    # and the queue holds each session once, on its second attempt, with the counters consistent
    assert r.xlen(keys.stream("normal", "tenant-a")) == 200
    assert r.hget(keys.STATS, "backlog") == "200" and r.hget(keys.STATS, "running") == "0"
    again = queue.claim("worker-2", 500)
    assert {(lease.job_id, lease.index) for lease in again} == stalled
    assert len(again) == 200 and {lease.attempt for lease in again} == {2}
    # and a third run finds nothing to do
    assert invoke()["requeued"] == 0


@pytest.mark.usefixtures("env")
def test_past_the_attempt_limit_the_reaper_dead_letters_with_the_reason(
    queue: JobQueue, r: redis.Redis, store: JobStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a reaper that allows one attempt, and a session stalled with a dead worker
    monkeypatch.setenv("TRAFFIC_TOOL_MAX_ATTEMPTS", "1")
    cold_start.reset()
    [(job_id, _)] = stall(queue, settings, jobs=1, per_job=1)

    # When the reaper runs with the sample event
    reply = invoke()

    # Then the session is dead-lettered as worker_died, and its job is completed with a failed session
    assert reply == {"requeued": 0, "dead_lettered": 1, "cancelled": 0, "skipped": 0}
    dead: list[tuple[str, dict[str, str]]] = r.xrange(keys.DEAD_LETTER)  # type: ignore[assignment]
    [(_, entry)] = dead
    assert entry["j"] == job_id and entry["reason"] == "worker_died"
    view = store.get("tenant-a", job_id)
    assert view.status == JobStatus.COMPLETED
    [session] = view.sessions
    assert session.status == SessionStatus.FAILED and session.error is not None
    assert session.error.type == ErrorType.BROWSER_CRASH
    assert r.zscore(keys.FINISHED, job_id) is not None  # on the archiver's list
