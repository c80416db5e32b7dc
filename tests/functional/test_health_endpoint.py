"""GET /health through the API handler against a real redis-server that the test stops and starts."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import api_handler
from jobcore import cold_start
from jobcore.models import JobRequest
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def own_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer().start()
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS", "tenant-a=tok-a")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    cold_start.reset()
    yield server
    cold_start.reset()
    server.cleanup()


def get_health() -> tuple[int, dict[str, Any], float]:
    event = json.loads((EVENTS / "health.json").read_text())
    started = time.monotonic()
    reply = api_handler.lambda_handler(event, LocalContext(function_name="ApiFunction"))
    return reply["statusCode"], json.loads(reply["body"]), time.monotonic() - started


def test_health_is_503_within_2_s_while_redis_is_stopped_and_200_once_it_is_back(
    own_redis: RedisServer,
) -> None:
    settings = Settings(redis_url=own_redis.url)
    client = connect(settings)
    queue = JobQueue(client, settings)

    # Given an idle fleet: ready, nothing waits
    status, body, _ = get_health()
    assert status == 200 and body["status"] == "ok" and body["oldest_queued_age_s"] == 0

    # When work waits with no live worker: not ready, and the wait has an age
    request = JobRequest.model_validate(
        {"sessions": [{"url": "http://127.0.0.1:9/"}] * 3, "priority": "high"}
    )
    queue.enqueue("tenant-a", request)
    time.sleep(0.3)
    status, body, _ = get_health()
    assert status == 503 and body["status"] == "degraded"
    assert body["queue_depth"] == 3 and body["queue_depth_by_priority"]["high"] == 3
    assert 0.3 <= body["oldest_queued_age_s"] < 5

    # When a worker is alive: ready again, with its capacity
    queue.workers.heartbeat("w1", active=0, capacity=4, ttl_s=60)
    status, body, _ = get_health()
    assert (status, body["workers"], body["capacity"]) == (200, 1, 4)

    # When Redis stops: 503 within 2 s, without secrets or a stack trace
    own_redis.stop()
    status, body, elapsed = get_health()
    assert status == 503 and elapsed < 2.0, elapsed
    assert body["error"]["type"] == "unavailable"

    # When it is back (AOF kept the job): 200 again, same figures
    own_redis.start()
    status, body, _ = get_health()
    assert status == 200 and body["queue_depth"] == 3 and body["oldest_queued_age_s"] >= 0.3

    # When Redis hangs (paused, not gone): still 503 within 2 s, then 200 once it answers again
    assert own_redis.proc is not None
    os.kill(own_redis.proc.pid, signal.SIGSTOP)
    try:
        status, _, elapsed = get_health()
    finally:
        os.kill(own_redis.proc.pid, signal.SIGCONT)
    assert status == 503 and elapsed < 2.0, elapsed
    assert get_health()[0] == 200
    client.close()


def test_the_oldest_queued_age_follows_claims(own_redis: RedisServer) -> None:
    settings = Settings(redis_url=own_redis.url)
    client = connect(settings)
    queue = JobQueue(client, settings)
    first = JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}]})
    queue.enqueue("tenant-a", first)
    time.sleep(1.0)
    queue.enqueue("tenant-a", first.model_copy(update={"labels": {"n": "2"}}))
    queue.workers.heartbeat("w1", active=0, capacity=4, ttl_s=60)
    _, before, _ = get_health()
    assert before["oldest_queued_age_s"] >= 1.0
    # When the oldest session is claimed, the age is the younger one's
    assert len(queue.claim("w1", 1)) == 1
    _, after, _ = get_health()
    assert after["queue_depth"] == 1 and after["oldest_queued_age_s"] < 1.0
    client.close()
