"""The Redis job plane against a real redis-server: claim, lease, fence, recover, cancel."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from jobcore import keys
from jobcore.constants import JobStatus, SessionStatus
from jobcore.errors import JobNotFoundError, QueueFullError, QuotaExceededError
from jobcore.models import ErrorInfo, JobRequest, SessionResult
from jobcore.queue import JobQueue
from jobcore.settings import Settings
from jobcore.store import JobStore


def job(n: int = 1, priority: str = "normal", **spec: object) -> JobRequest:
    return JobRequest.model_validate(
        {"sessions": [{"url": f"http://127.0.0.1:9/{i}", **spec} for i in range(n)], "priority": priority}
    )


def ok(index: int = 0) -> SessionResult:
    return SessionResult(index=index, url="http://127.0.0.1:9/", status=SessionStatus.OK, http_status=200)


def wait_past_lease(settings: Settings) -> None:
    time.sleep(settings.lease_s + 0.2)


def test_a_job_becomes_one_stream_entry_per_session(queue: JobQueue, store: JobStore, r: redis.Redis) -> None:
    job_id = queue.enqueue("tenant-a", job(3, "low"))
    assert r.xlen(keys.stream("low", "tenant-a")) == 3
    view = store.get("tenant-a", job_id)
    assert view.status == JobStatus.QUEUED
    assert view.progress.model_dump() == {
        "total": 3,
        "queued": 3,
        "running": 0,
        "ok": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert [s.status for s in view.sessions] == [SessionStatus.QUEUED] * 3
    assert store.health().queue_depth_by_priority.low == 3


def test_claims_serve_high_priority_first(queue: JobQueue) -> None:
    low = queue.enqueue("t", job(2, "low"))
    normal = queue.enqueue("t", job(2, "normal"))
    high = queue.enqueue("t", job(2, "high"))
    order = [lease.job_id for lease in queue.claim("w1", 5)]
    assert order == [high, high, normal, normal, low]


def test_complete_writes_the_result_and_finishes_the_job(
    queue: JobQueue, store: JobStore, r: redis.Redis
) -> None:
    job_id = queue.enqueue(
        "t", job(1, proxy={"server": "http://127.0.0.1:3128", "username": "u", "password": "pw"})
    )
    [lease] = queue.claim("w1")
    assert lease.spec.proxy is not None and lease.spec.proxy.password is not None
    assert lease.spec.proxy.password.get_secret_value() == "pw"
    assert queue.complete(lease, ok())
    view = store.get("t", job_id)
    assert view.status == JobStatus.COMPLETED
    assert view.finished_at is not None and view.started_at is not None
    assert view.sessions[0].status == SessionStatus.OK and view.sessions[0].attempts == 1
    # the ended job's records expire, its secrets are gone, its stream entry acked and deleted
    assert 0 < r.ttl(keys.job(job_id)) <= queue.settings.job_ttl_s
    assert not r.exists(keys.secrets(job_id))
    assert r.xlen(lease.stream) == 0
    assert r.zscore(keys.FINISHED, job_id) is not None


def test_a_worker_that_lost_its_lease_cannot_write(
    queue: JobQueue, store: JobStore, settings: Settings
) -> None:
    # Given a session whose worker stalled past its lease, and the retry that another worker ran
    job_id = queue.enqueue("t", job(1))
    [stale] = queue.claim("w-paused")
    wait_past_lease(settings)
    assert queue.recover_stalled().requeued == 1
    [retry] = queue.claim("w-healthy")
    assert retry.attempt == 2
    assert queue.complete(retry, ok().model_copy(update={"http_status": 201}))
    # When the stale worker wakes up and writes
    written = queue.complete(stale, ok().model_copy(update={"http_status": 500}))
    # Then its write is refused and the result is the retry's
    assert written is False
    assert queue.renew("w-paused", [stale]) == [False]
    assert queue.hand_back(stale) is False
    session = store.get("t", job_id).sessions[0]
    assert (session.http_status, session.attempts) == (201, 2)


def test_renewing_keeps_a_long_session_from_being_recovered(queue: JobQueue, settings: Settings) -> None:
    queue.enqueue("t", job(1))
    leases = queue.claim("w1")
    for _ in range(3):
        time.sleep(settings.lease_s / 2)
        assert queue.renew("w1", leases) == [True]
    assert queue.recover_stalled().requeued == 0


def test_hand_back_does_not_count_an_attempt(queue: JobQueue, store: JobStore) -> None:
    job_id = queue.enqueue("t", job(1))
    [first] = queue.claim("w1")
    assert queue.hand_back(first)
    assert store.get("t", job_id).progress.queued == 1
    [again] = queue.claim("w2")
    assert again.attempt == 1
    assert queue.complete(again, ok())
    assert store.get("t", job_id).sessions[0].attempts == 1


def test_past_the_attempt_limit_a_session_is_dead_lettered(
    queue: JobQueue, store: JobStore, settings: Settings, r: redis.Redis
) -> None:
    job_id = queue.enqueue("t", job(2))
    for attempt in range(1, settings.max_attempts + 1):
        leases = {lease.index: lease for lease in queue.claim(f"dying-{attempt}", 2)}
        assert leases[0].attempt == attempt
        if 1 in leases:  # the healthy session completes on its first try
            assert queue.complete(leases[1], ok(1))
        wait_past_lease(settings)
        queue.recover_stalled()
    view = store.get("t", job_id)
    assert view.status == JobStatus.COMPLETED
    dead = view.sessions[0]
    assert dead.status == SessionStatus.FAILED and dead.attempts == settings.max_attempts
    assert dead.error is not None and "dead-lettered" in dead.error.message
    [(_, entry)] = r.xrange(keys.DEAD_LETTER)
    assert entry["reason"] == "worker_died" and entry["j"] == job_id and entry["i"] == "0"
    assert view.sessions[1].status == SessionStatus.OK


def test_a_stalled_session_of_a_live_worker_is_dead_lettered_as_timeout(
    queue: JobQueue, settings: Settings, r: redis.Redis
) -> None:
    queue.enqueue("t", job(1))
    for attempt in range(settings.max_attempts):
        queue.workers.heartbeat(f"alive-{attempt}", active=1, capacity=4, ttl_s=60)
        assert queue.claim(f"alive-{attempt}")
        wait_past_lease(settings)
        queue.recover_stalled()
    [(_, entry)] = r.xrange(keys.DEAD_LETTER)
    assert entry["reason"] == "timeout"


def test_two_overlapping_recoveries_requeue_each_session_once(
    queue: JobQueue, r: redis.Redis, settings: Settings
) -> None:
    queue.enqueue("t", job(40))
    assert len(queue.claim("died", 40)) == 40
    wait_past_lease(settings)
    reports = []
    reapers = [
        threading.Thread(target=lambda: reports.append(JobQueue(r, settings).recover_stalled()))
        for _ in range(2)
    ]
    for t in reapers:
        t.start()
    for t in reapers:
        t.join()
    assert sum(rep.requeued for rep in reports) == 40
    retries = queue.claim("healthy", 100)
    assert len(retries) == 40 and {lease.attempt for lease in retries} == {2}


def test_cancel_stops_what_has_not_run(queue: JobQueue, store: JobStore, r: redis.Redis) -> None:
    job_id = queue.enqueue("t", job(3))
    [running] = queue.claim("w1")
    assert queue.cancel("t", job_id) == 2
    view = store.get("t", job_id)
    assert view.status == JobStatus.CANCELLED
    assert (view.progress.running, view.progress.cancelled, view.progress.queued) == (1, 2, 0)
    assert store.health().queue_depth == 0
    assert queue.claim("w2", 10) == []
    # the running session may still finish; then the job has ended
    assert queue.complete(running, ok())
    assert store.get("t", job_id).finished_at is not None


def test_another_tenant_can_neither_read_nor_cancel(queue: JobQueue, store: JobStore) -> None:
    job_id = queue.enqueue("tenant-a", job(1))
    with pytest.raises(JobNotFoundError):
        store.get("tenant-b", job_id)
    with pytest.raises(JobNotFoundError):
        queue.cancel("tenant-b", job_id)
    assert store.get("tenant-a", job_id).progress.queued == 1


def test_admission_control_refuses_past_the_backlog_and_the_quota(r: redis.Redis, settings: Settings) -> None:
    small = JobQueue(r, settings.model_copy(update={"max_backlog": 5, "tenant_quota": 3}))
    small.enqueue("a", job(3))
    with pytest.raises(QuotaExceededError) as quota:
        small.enqueue("a", job(1))
    assert quota.value.retry_after_s == settings.retry_after_s
    small.enqueue("b", job(2))
    with pytest.raises(QueueFullError):
        small.enqueue("c", job(1))
    assert r.hget(keys.STATS, "backlog") == "5"  # nothing half-written by the refusals


def test_failed_results_keep_their_error(queue: JobQueue, store: JobStore) -> None:
    job_id = queue.enqueue("t", job(1))
    [lease] = queue.claim("w1")
    failed = SessionResult(
        index=0,
        url="http://127.0.0.1:9/0",
        status=SessionStatus.FAILED,
        error=ErrorInfo(type="http_error", message="404 Not Found"),
        http_status=404,
    )
    assert queue.complete(lease, failed)
    session = store.get("t", job_id).sessions[0]
    assert session.error is not None and session.error.type == "http_error"
    assert store.get("t", job_id).progress.failed == 1


def test_list_jobs_pages_newest_first(queue: JobQueue, store: JobStore) -> None:
    ids = [queue.enqueue("t", job(1)) for _ in range(5)]
    queue.enqueue("other", job(1))
    first = store.list_jobs("t", limit=2)
    assert [j.job_id for j in first.jobs] == ids[::-1][:2]
    assert first.next_cursor is not None
    second = store.list_jobs("t", cursor=first.next_cursor, limit=10)
    assert [j.job_id for j in second.jobs] == ids[::-1][2:]
    assert second.next_cursor is None


def test_tenants_take_turns_within_a_priority(queue: JobQueue) -> None:
    # Given tenant A's big job queued first, then tenant B's small one
    queue.enqueue("tenant-a", job(100))
    queue.enqueue("tenant-b", job(5))
    # When workers claim a session at a time, they alternate between the tenants
    singles = [queue.claim("w1")[0].tenant for _ in range(4)]
    assert sorted(singles) == ["tenant-a", "tenant-a", "tenant-b", "tenant-b"]
    assert singles[0] != singles[1] and singles[2] != singles[3]
    # and a batch of ten takes an equal share from each: B's last three are among them
    tenants = [lease.tenant for lease in queue.claim("w1", 10)]
    assert tenants.count("tenant-b") == 3
    # and once B has nothing left, A gets every claim
    assert {lease.tenant for lease in queue.claim("w1", 20)} == {"tenant-a"}


def test_priority_still_comes_before_turns(queue: JobQueue) -> None:
    queue.enqueue("tenant-a", job(3, "low"))
    queue.enqueue("tenant-b", job(3, "high"))
    queue.enqueue("tenant-c", job(3, "high"))
    order = [(lease.priority.value, lease.tenant) for lease in queue.claim("w1", 9)]
    assert [p for p, _ in order] == ["high"] * 6 + ["low"] * 3
    assert {t for _, t in order[:6]} == {"tenant-b", "tenant-c"}


def test_a_tenant_runs_no_more_than_its_limit(r: redis.Redis, settings: Settings) -> None:
    limited = JobQueue(r, settings.model_copy(update={"tenant_max_running": 2}))
    limited.enqueue("tenant-a", job(5))
    limited.enqueue("tenant-b", job(1))
    first = limited.claim("w1", 10)
    assert sorted(lease.tenant for lease in first) == ["tenant-a", "tenant-a", "tenant-b"]
    assert limited.claim("w1", 10) == []  # A is at its limit, B has nothing left
    assert limited.complete(first[0], ok(first[0].index))
    [next_one] = limited.claim("w1", 10)  # a slot freed: A runs one more
    assert next_one.tenant == "tenant-a"


def test_while_another_tenant_waits_no_tenant_takes_every_slot(queue: JobQueue) -> None:
    queue.workers.heartbeat("w1", active=0, capacity=4)  # a fleet of 4 slots: a tenant may keep 3
    queue.enqueue("tenant-a", job(6, "high"))
    queue.enqueue("tenant-b", job(2, "low"))
    # A's high-priority backlog goes first, but not into B's last slot while B waits
    first = [lease.tenant for lease in queue.claim("w1", 4)]
    assert first == ["tenant-a"] * 3 + ["tenant-b"]
    [b_last] = queue.claim("w1", 1)  # A is at its share; B still waits: B runs
    assert b_last.tenant == "tenant-b"
    # with nobody else waiting, A may use every slot
    assert [lease.tenant for lease in queue.claim("w1", 3)] == ["tenant-a"] * 3


def test_a_tenant_alone_fills_the_fleet(queue: JobQueue) -> None:
    queue.workers.heartbeat("w1", active=0, capacity=4)
    queue.enqueue("tenant-a", job(6, "high"))
    assert len(queue.claim("w1", 4)) == 4


def test_a_requeued_session_brings_its_tenant_back_into_turn(queue: JobQueue, settings: Settings) -> None:
    queue.enqueue("tenant-a", job(1))
    [lease] = queue.claim("w1")
    assert queue.claim("w1") == []  # the rota is empty now
    assert queue.hand_back(lease)
    [again] = queue.claim("w2")
    assert (again.job_id, again.index, again.attempt) == (lease.job_id, lease.index, 1)


def test_the_oldest_unclaimed_session_is_found_per_priority(queue: JobQueue) -> None:
    before = int(time.time() * 1000)
    queue.enqueue("tenant-a", job(1, "low"))
    time.sleep(0.01)
    queue.enqueue("tenant-b", job(1, "low"))
    oldest = queue.oldest_queued_ms()
    assert oldest is not None
    assert oldest["high"] == 0 and oldest["normal"] == 0
    first_low = oldest["low"]
    assert before <= first_low <= int(time.time() * 1000)
    [first] = queue.claim("w1")  # A's, the first in turn: B's is now the oldest unclaimed
    assert first.tenant == "tenant-a"
    later = queue.oldest_queued_ms()
    assert later is not None and later["low"] > first_low
    queue.claim("w1")
    assert queue.oldest_queued_ms() == {"high": 0, "normal": 0, "low": 0}
