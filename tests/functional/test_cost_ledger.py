"""The cost ledger: each session's CPU-seconds as the worker measures them, its estimated cost under the
price file, the per-job sums GET /jobs/{id} returns (real Redis, the real queue) and the EMF per tenant."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from jobcore.constants import SessionStatus
from jobcore.jobs import JobService
from jobcore.models import JobRequest, SessionResult, Timings
from jobcore.prices import default_prices
from jobcore.queue import JobQueue
from jobcore.session_cost import TaskShape, session_cost
from jobcore.settings import Settings
from traffic_tool.render import cost_line
from worker.cpu_share import CpuShare
from worker.result_cost import with_cost
from worker.session_metrics import SessionMetrics

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def burn_in_child(cpu_s: float) -> None:
    """A child of this process (as Chromium is of the worker) spends cpu_s of CPU and exits."""
    subprocess.run([sys.executable, "-c", BURN.format(s=cpu_s)], check=True, timeout=30)


def test_every_price_names_its_source_and_date() -> None:
    book = default_prices()
    assert book.prices
    for price in book.prices.values():
        assert price.source.startswith("https://") and len(price.date) == 10, price.name


def test_a_session_is_priced_from_its_cpu_its_memory_slot_and_its_bytes() -> None:
    book = default_prices()
    task = TaskShape(vcpu=2, memory_gb=4, sessions=4)
    cost = session_cost(cpu_s=3600, wall_s=3600, nbytes=10**9, prices=book, task=task)
    expected = book.usd("fargate_vcpu_hour") + 1.0 * book.usd("fargate_gb_hour") + book.usd("nat_gateway_gb")
    assert cost.usd == pytest.approx(expected)
    assert (cost.cpu_s, cost.wall_s, cost.bytes) == (3600, 3600, 10**9)


def test_cpu_is_shared_by_the_sessions_in_flight_and_includes_reaped_children() -> None:
    # Given two sessions in flight
    share = CpuShare()
    share.begin("a")
    share.begin("b")
    # When a child process burns 0.6 CPU-s, then one session ends and the other runs alone for 0.4 more
    burn_in_child(0.6)
    a = share.end("a")
    burn_in_child(0.4)
    b = share.end("b")
    # Then each got half of the shared part, and b all of its own part (plus the Python process's time)
    assert 0.28 <= a <= 0.45, a
    assert 0.68 <= b <= 0.90, b
    assert share.end("never-began") == 0.0


def test_get_job_sums_the_sessions_costs(r: redis.Redis, settings: Settings) -> None:
    # Given a job of three sessions, two of them ended with a cost ledger by the worker's code
    service = JobService(r, settings)
    job = service.submit("t", JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/"}] * 3}))
    queue = JobQueue(r, settings)
    leases = queue.claim("w1", 2)
    for lease, cpu in zip(leases, (0.5, 0.25), strict=True):
        result = SessionResult(index=lease.index, url="http://127.0.0.1:9/", status=SessionStatus.OK,
                               timings_ms=Timings(total=2000), bytes_in=50_000)  # fmt: skip
        assert queue.complete(lease, with_cost(result, cpu, settings))
    # When the job is read
    view = service.get("t", job.job_id)
    # Then it carries the sums; the session still queued has no ledger yet
    assert view.cost is not None
    assert view.cost.cpu_s == pytest.approx(0.75)
    assert view.cost.wall_s == pytest.approx(4.0)
    assert view.cost.bytes == 100_000
    assert view.cost.usd == pytest.approx(sum(s.cost.usd for s in view.sessions if s.cost), rel=1e-6)
    assert view.cost.usd > 0
    assert sum(1 for s in view.sessions if s.cost is None) == 1
    assert json.loads(view.model_dump_json())["cost"]["usd"] == pytest.approx(view.cost.usd)
    assert (cost_line(view) or "").startswith("cost: 0.75 CPU-s, 4.0 s of sessions, 97.7 KB, estimated $")


def test_the_worker_publishes_cost_and_cpu_per_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = SessionMetrics()
    result = with_cost(
        SessionResult(index=0, url="http://x/", status=SessionStatus.OK, timings_ms=Timings(total=1000)),
        0.3,
        Settings(),
    )
    metrics.ended(result, "acme")
    metrics.ended(result, "globex")
    metrics.flush()
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    tenants = {b.get("Tenant") for b in blobs if "SessionCostUsd" in b}
    assert {"acme", "globex"} <= tenants
    total = [b for b in blobs if "SessionCpuSeconds" in b and "Tenant" not in b]
    assert total and total[0]["SessionCpuSeconds"] == [0.3, 0.3]
