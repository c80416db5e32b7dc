"""The scaler against a moto ECS service and a real Redis: minute by minute through an empty queue,
a burst, a sustained load and a drain, reading the service's desiredCount after every run."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis

import scaler_handler
from jobcore import cold_start, keys
from jobcore.constants import SessionStatus
from jobcore.ecs_capacity import EcsCapacity
from jobcore.errors import CapacityUnavailableError
from jobcore.models import JobRequest, SessionResult
from jobcore.queue import JobQueue, Lease
from jobcore.scaler import run_scaler
from jobcore.scaling import ScalingPolicy
from jobcore.settings import Settings
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
CLUSTER, SERVICE = "traffic-tool", "workers"
T0 = 1_700_000_000.0
MINUTE = 60.0


@pytest.fixture
def ecs(aws: None) -> Any:
    client = boto3.client("ecs")
    client.create_cluster(clusterName=CLUSTER)
    client.register_task_definition(
        family="worker",
        containerDefinitions=[{"name": "worker", "image": "traffic-tool-worker:latest", "memory": 2048}],
    )
    # as CloudFormation leaves a service created without DesiredCount
    client.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="worker", desiredCount=1)
    return client


def desired_count(ecs: Any) -> int:
    return int(ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["desiredCount"])


def sessions(n: int) -> JobRequest:
    return JobRequest.model_validate({"sessions": [{"url": f"http://127.0.0.1:9/{i}"} for i in range(n)]})


class Minutes:
    """One scaler run per simulated minute, the way the schedule calls it."""

    def __init__(self, r: redis.Redis, ecs: Any, settings: Settings) -> None:
        self.r, self.ecs, self.settings = r, ecs, settings
        self.backend = EcsCapacity(CLUSTER, SERVICE, client=ecs)
        self.now = T0

    def run(self, count: int = 1) -> list[int]:
        seen = []
        for _ in range(count):
            run_scaler(
                self.r,
                self.backend,
                ScalingPolicy.from_settings(self.settings),
                self.settings.sessions_per_worker,
                self.now,
            )
            self.now += MINUTE
            seen.append(desired_count(self.ecs))
        return seen


def test_the_scaler_drives_the_ecs_service_through_burst_load_and_drain(
    ecs: Any, r: redis.Redis, settings: Settings
) -> None:
    # Given the seed's policy (min 2, max 10, +2 per 2 minutes, -1 after 5 idle minutes),
    # 4 sessions per worker, and the service as CloudFormation created it (1 task)
    assert (settings.min_workers, settings.max_workers, settings.sessions_per_worker) == (2, 10, 4)
    queue = JobQueue(r, settings)
    minutes = Minutes(r, ecs, settings)
    assert desired_count(ecs) == 1

    # When the queue is empty: the minimum, at once, and it stays there
    assert minutes.run(4) == [2, 2, 2, 2]

    # When a burst of 200 sessions arrives (50 tasks' worth): +2 every 2 minutes, up to the max only
    jobs = [queue.enqueue("tenant-a", sessions(100)) for _ in range(2)]
    assert minutes.run(10) == [4, 4, 6, 6, 8, 8, 10, 10, 10, 10]

    # When the fleet works through a sustained load (40 running, the rest waiting): it holds at the max
    leases: list[Lease] = queue.claim("worker-1", 40)
    assert len(leases) == 40 and r.hget(keys.STATS, "running") == "40"
    assert minutes.run(5) == [10] * 5

    # When the load dips but keeps the fleet 25% busy (10 running, nothing waiting): still no scale-in
    for job_id in jobs:
        queue.cancel("tenant-a", job_id)
    for lease in leases[10:]:
        assert queue.complete(lease, SessionResult(index=0, url="", status=SessionStatus.OK))
    assert minutes.run(6) == [10] * 6

    # When the work drains away: one task less after each 5 idle minutes, never two at once, down to min
    for lease in leases[:10]:
        assert queue.complete(lease, SessionResult(index=0, url="", status=SessionStatus.OK))
    drained = minutes.run(45)
    assert drained[:10] == [10, 10, 10, 10, 9, 9, 9, 9, 9, 8]
    assert all(a - b in (0, 1) for a, b in itertools.pairwise([10, *drained]))
    assert drained[-6:] == [2] * 6 and min(drained) == 2


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")  # the skipped run
def test_the_handler_with_the_sample_event_sets_the_desired_count(
    ecs: Any,
    r: redis.Redis,
    redis_server: RedisServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the scaler function configured as the template configures it
    for name, value in {
        "TRAFFIC_TOOL_REDIS_URL": redis_server.url,
        "TRAFFIC_TOOL_ECS_CLUSTER": CLUSTER,
        "TRAFFIC_TOOL_ECS_SERVICE": SERVICE,
        "TRAFFIC_TOOL_MIN_WORKERS": "2",
        "TRAFFIC_TOOL_MAX_WORKERS": "6",
    }.items():
        monkeypatch.setenv(name, value)
    cold_start.reset()
    event = json.loads((EVENTS / "scaler.json").read_text())

    def invoke() -> dict[str, Any]:
        reply: dict[str, Any] = scaler_handler.lambda_handler(
            event, LocalContext(function_name="ScalerFunction")
        )
        return reply

    try:
        # When it runs on an empty queue: the service goes from 1 to the minimum
        summary = invoke()
        assert desired_count(ecs) == 2
        assert summary["desired"] == 2 and summary["reason"] == "outside min/max"

        # When a burst arrives: +2 at once, then the cooldown holds it
        JobQueue(r, settings).enqueue("tenant-a", sessions(100))
        summary = invoke()
        assert desired_count(ecs) == 4
        assert summary["backlog"] == 100 and summary["needed"] == 6 and summary["changed"]
        assert invoke()["reason"] == "scale-out cooldown" and desired_count(ecs) == 4

        # and every decision was logged with its inputs, and published as EMF metrics
        decisions = [rec.__dict__ for rec in caplog.records if rec.getMessage() == "scaling decision"]
        assert [(d["current"], d["desired"], d["backlog"], d["reason"]) for d in decisions] == [
            (1, 2, 0, "outside min/max"),
            (2, 4, 100, "backlog"),
            (4, 4, 100, "scale-out cooldown"),
        ]
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        emf = [line for line in lines if "DesiredWorkers" in line]  # per-priority depths come in their own
        assert [m["DesiredWorkers"] for m in emf] == [[2], [4], [4]] and emf[1]["QueueDepth"] == [100]
        assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "TrafficTool"

        # When another run holds the lock: this one steps aside, and nothing changes
        r.set(keys.SCALER_LOCK, "other", ex=50)
        assert "skipped" in invoke()
        assert desired_count(ecs) == 4 and r.exists(keys.SCALER_LOCK)
    finally:
        cold_start.reset()


def test_a_missing_service_is_an_error_not_a_silent_zero(ecs: Any) -> None:
    # Given a service name that does not exist in the cluster
    backend = EcsCapacity(CLUSTER, "no-such-service", client=ecs)
    # When the scaler asks for its count / Then it fails loudly
    with pytest.raises(CapacityUnavailableError, match="no-such-service"):
        backend.current()
