"""A job is accepted only once a replica has it, where the primary has a replica (Redis WAIT)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
import redis

from jobcore import keys
from jobcore.errors import StoreUnavailableError
from jobcore.models import JobRequest
from jobcore.queue import JobQueue
from jobcore.settings import Settings
from tests.support.redis_server import RedisServer

BODY = JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}] * 3})


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer().start()
    replica = RedisServer().start()
    redis.Redis(port=replica.port).replicaof("127.0.0.1", primary.port)
    deadline = time.monotonic() + 20
    while redis.Redis(port=replica.port).info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica did not sync"
        time.sleep(0.05)
    yield primary, replica
    replica.cleanup()
    primary.cleanup()


def test_a_submit_waits_for_the_replica(primary_and_replica: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = primary_and_replica
    settings = Settings(redis_url=primary.url, redis_wait_timeout_ms=2000)
    queue = JobQueue(redis.Redis.from_url(primary.url, decode_responses=True), settings)
    job_id = queue.enqueue("t", BODY)
    # the replica holds the job the moment the submit returns
    on_replica = redis.Redis(port=replica.port, decode_responses=True)
    assert on_replica.hget(keys.job(job_id), "total") == "3"


def test_a_job_no_replica_acknowledged_is_undone(
    primary_and_replica: tuple[RedisServer, RedisServer],
) -> None:
    primary, replica = primary_and_replica
    settings = Settings(redis_url=primary.url, redis_wait_timeout_ms=300)
    client = redis.Redis.from_url(primary.url, decode_responses=True)
    queue = JobQueue(client, settings)
    queue.enqueue("t", BODY)  # learns that a replica exists
    assert replica.proc is not None
    os.kill(replica.proc.pid, signal.SIGSTOP)  # the replica stops acknowledging
    try:
        with pytest.raises(StoreUnavailableError, match="could not be replicated"):
            queue.enqueue("t", BODY)
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
    # nothing of the refused job waits to be run: only the first job's three sessions are queued
    assert client.hget(keys.STATS, "backlog") == "3"
