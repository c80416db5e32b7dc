"""The cost ledger from a real worker process: every result carries its CPU-seconds (its share of the
worker's process tree, Chromium included), wall time, bytes and an estimate under the price file."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobcore.models import JobRequest, SessionSpec
from jobcore.queue import JobQueue
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for_job
from traffic_tool.local.worker_launcher import loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_each_result_carries_its_cost_ledger(
    redis_server: RedisServer, queue: JobQueue, store: JobStore, site: FixtureSite, tmp_path: Path
) -> None:
    # Given a worker running two sessions at a time
    worker = loopback_worker(redis_server.url, tmp_path / "worker.log", sessions_per_worker=2)
    try:
        worker.wait_log("serving")
        # When it runs six light-page sessions
        specs = [SessionSpec.model_validate({"url": site.url(f"/light.html?cost={i}")}) for i in range(6)]
        job = queue.enqueue("acme", JobRequest(sessions=specs))
        view = wait_for_job(store, "acme", job)
    finally:
        worker.stop()
    # Then every result has its ledger: some CPU, its own wall time and bytes, a cost above zero
    assert view.progress.ok == 6
    for session in view.sessions:
        cost = session.cost
        assert cost is not None
        assert 0.005 < cost.cpu_s < 5.0, cost
        assert cost.wall_s == pytest.approx((session.timings_ms.total or 0) / 1000, abs=0.002)
        assert cost.bytes == session.bytes_in + session.bytes_out
        assert cost.usd > 0
