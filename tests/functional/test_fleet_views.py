"""GET /fleet, `traffic-tool top`'s frame (read over HTTP) and the local stack's Prometheus `/metrics`,
against a real Redis holding real job-plane state (jobs enqueued, claimed and completed through jobcore),
checked against Redis."""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from typer.testing import CliRunner

from jobcore import cold_start, keys, metric_names
from jobcore.constants import SessionStatus
from jobcore.errors import ErrorType
from jobcore.fleet_totals import FleetTotals
from jobcore.models import ErrorInfo, JobRequest, SessionResult, Timings
from jobcore.operator_models import FleetView
from jobcore.queue import JobQueue
from tests.support.cfn_yaml import PROJECT_ROOT
from tests.support.redis_server import RedisServer, free_port
from traffic_tool.fleet_panels import render_frame
from traffic_tool.fleet_snapshot import read_snapshot
from traffic_tool.local.adapter import LocalApi, LocalApiServer
from traffic_tool.local.prometheus_text import prometheus_source
from traffic_tool.main import app


def result(
    index: int, status: SessionStatus, error: ErrorType | None, size: int, total_ms: int
) -> SessionResult:
    return SessionResult(
        index=index,
        url="http://127.0.0.1:9/",
        status=status,
        error=ErrorInfo(type=error, message="m") if error else None,
        bytes_in=size,
        timings_ms=Timings(total=total_ms, queue_wait=10 * (index + 1)),
    )


@pytest.fixture
def busy_fleet(queue: JobQueue, r: redis.Redis) -> redis.Redis:
    """2 sessions done (1 ok, 1 navigation timeout), 1 running, 3 high + 2 low waiting, one live worker."""
    totals = FleetTotals(r)
    first = queue.enqueue(
        "tenant-a", JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}] * 3})
    )
    assert first
    queue.workers.heartbeat("w1", active=3, capacity=4, ttl_s=60)
    leases = queue.claim("w1", 3)
    outcomes = [
        result(0, SessionStatus.OK, None, 200 * 1024, 1200),
        result(1, SessionStatus.FAILED, ErrorType.NAVIGATION_TIMEOUT, 100 * 1024, 30_000),
    ]
    for lease, outcome in zip(leases, outcomes, strict=False):
        assert queue.complete(lease, outcome)
        totals.session_ended(outcome)
    queue.enqueue(
        "tenant-a",
        JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}] * 3, "priority": "high"}),
    )
    queue.enqueue(
        "tenant-b",
        JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}] * 2, "priority": "low"}),
    )
    for status_class, count in (("2xx", 7), ("4xx", 2), ("5xx", 1)):
        totals.count(metric_names.API_REQUESTS, count, label=status_class)
    totals.set_gauge(metric_names.DESIRED_WORKERS, 2)
    return r


def row(text: str, label: str) -> str:
    match = re.search(rf"│ +{re.escape(label)} {{2,}}(\S+(?: \S+)*)", text)
    assert match, f"no {label!r} in the frame:\n{text}"
    return match.group(1)


def test_a_top_frame_shows_what_redis_holds(busy_fleet: redis.Redis) -> None:
    r = busy_fleet
    console = Console(record=True, width=150, color_system=None)
    console.print(render_frame(read_snapshot(r)))
    frame = console.export_text()

    stats = r.hgetall(keys.STATS)
    assert row(frame, "active") == stats["running"] == "1"
    assert row(frame, "capacity") == "4" and row(frame, "utilisation") == "25%"
    assert row(frame, "queued") == stats["backlog"] == "5"
    assert (
        row(frame, "high / normal / low")
        == f"{stats['backlog:high']} / {stats['backlog:normal']} / {stats['backlog:low']}"
    )
    assert row(frame, "live workers") == "1" and row(frame, "desired") == "2"
    assert row(frame, "ok") == "1" and row(frame, "failed") == "1"
    assert (
        row(frame, "navigation_timeout") == r.hget(keys.TELEMETRY, "SessionsFailed:navigation_timeout") == "1"
    )
    assert row(frame, "2xx") == "7" and row(frame, "5xx") == "1"
    assert row(frame, "average") == "150.0 KB"  # (200 + 100) KB over 2 sessions
    assert row(frame, "p95 duration") == "30000 ms"
    assert row(frame, "health") == "ready"


@pytest.fixture
def local_api(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API behind the local adapter (routes and authorizer from the template) on this Redis."""
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS", "tenant-a=tok-a,ops=tok-ops")
    monkeypatch.setenv("TRAFFIC_TOOL_OPERATORS", "ops")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    cold_start.reset()
    server = LocalApiServer(
        ("127.0.0.1", free_port()), LocalApi(PROJECT_ROOT), metrics=prometheus_source(redis_server.url)
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()
    cold_start.reset()


def test_get_fleet_holds_what_redis_holds(busy_fleet: redis.Redis, local_api: str) -> None:
    r = busy_fleet
    reply = httpx.get(f"{local_api}/fleet", headers={"Authorization": "Bearer tok-ops"}, timeout=10)
    assert reply.status_code == 200, reply.text
    fleet = FleetView.model_validate(reply.json())
    stats = r.hgetall(keys.STATS)
    h, depth = fleet.health, fleet.health.queue_depth_by_priority
    assert h.running_sessions == int(stats["running"]) == 1
    assert h.queue_depth == int(stats["backlog"]) == 5
    assert [depth.high, depth.normal, depth.low] == [
        int(stats[f"backlog:{p}"]) for p in ("high", "normal", "low")
    ]
    assert h.dead_letters == r.xlen(keys.DEAD_LETTER)
    queued, running = r.hgetall(keys.TENANT_QUEUED), r.hgetall(keys.TENANT_RUNNING)
    assert (
        {(t.tenant, t.queued, t.running) for t in fleet.tenants}
        == {(t, int(queued.get(t, 0)), int(running.get(t, 0))) for t in ("tenant-a", "tenant-b")}
        == {("tenant-a", 3, 1), ("tenant-b", 2, 0)}
    )
    [worker] = fleet.live_workers
    assert (worker.worker_id, worker.active, worker.capacity) == ("w1", 3, 4)
    assert worker.heartbeat_age_s is not None and 0 <= worker.heartbeat_age_s < 30
    telemetry = r.hgetall(keys.TELEMETRY)
    names = (metric_names.SESSIONS_OK, metric_names.SESSIONS_FAILED, metric_names.BYTES_PER_SESSION)
    for name in (*names, f"{metric_names.SESSIONS_FAILED}:navigation_timeout"):
        assert fleet.totals[name] == float(telemetry[name]), name
    minute = [r.hgetall(k) for k in r.scan_iter(match=keys.telemetry_minute(0).replace(":0", ":*"))]
    assert (
        fleet.last_minutes[f"{metric_names.SESSIONS_FAILED}:navigation_timeout"]
        == 1
        == sum(float(m.get(f"{metric_names.SESSIONS_FAILED}:navigation_timeout", 0)) for m in minute)
    )
    assert fleet.last_minutes[f"{metric_names.API_REQUESTS}:4xx"] == 2 and fleet.window_minutes == 5
    assert fleet.desired_workers == 2 and fleet.bytes_per_session_avg == 150 * 1024
    assert fleet.session_duration_p95_ms == 30_000 and fleet.recent_sessions == r.llen(keys.RECENT_SESSIONS)


def test_a_tenant_token_gets_403_on_fleet(local_api: str) -> None:
    reply = httpx.get(f"{local_api}/fleet", headers={"Authorization": "Bearer tok-a"}, timeout=10)
    assert reply.status_code == 403 and reply.json()["error"]["type"] == "forbidden"
    outcome = CliRunner().invoke(app, ["top", "--once", "--api-url", local_api, "--token", "tok-a"])
    assert outcome.exit_code == 1 and "operator" in outcome.output


def test_top_once_prints_a_frame_read_over_http(busy_fleet: redis.Redis, local_api: str) -> None:
    outcome = CliRunner().invoke(
        app, ["top", "--once", "--api-url", local_api, "--token", "tok-ops"], terminal_width=150
    )
    assert outcome.exit_code == 0, outcome.output
    assert "active sessions" in outcome.output and "errors by type" in outcome.output
    assert row(outcome.output, "tenant-a") == "3 / 1" and row(outcome.output, "tenant-b") == "2 / 0"
    assert row(outcome.output, "w1") == "3/4"


def test_top_once_fails_clearly_without_the_api() -> None:
    outcome = CliRunner().invoke(
        app, ["top", "--once", "--api-url", f"http://127.0.0.1:{free_port()}", "--token", "t"]
    )
    assert outcome.exit_code == 1 and "cannot reach the API" in outcome.output


def test_the_local_metrics_endpoint_serves_prometheus_text_read_from_redis(
    busy_fleet: redis.Redis, local_api: str
) -> None:
    with urllib.request.urlopen(f"{local_api}/metrics", timeout=5) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = reply.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    stats = busy_fleet.hgetall(keys.STATS)
    assert samples[("traffic_tool_active_sessions", ())] == float(stats["running"])
    assert samples[("traffic_tool_queue_depth", (("priority", "high"),))] == float(stats["backlog:high"])
    assert samples[("traffic_tool_queue_depth", (("priority", "low"),))] == 2
    assert samples[("traffic_tool_fleet_capacity", ())] == 4
    assert samples[("traffic_tool_sessions_failed_total", (("error_type", "navigation_timeout"),))] == 1
    assert samples[("traffic_tool_api_requests_total", (("status_class", "4xx"),))] == 2
    assert samples[("traffic_tool_bytes_per_session_sum", ())] == 300 * 1024
    assert samples[("traffic_tool_bytes_per_session_count", ())] == 2
    assert samples[("traffic_tool_oldest_queued_age_seconds", ())] >= 0
