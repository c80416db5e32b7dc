"""500 sessions in a row on one worker: no leaked Chrome processes, flat RSS (slow; bounded)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobcore.models import JobRequest, SessionSpec
from jobcore.queue import JobQueue
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from traffic_tool.local.worker_launcher import chrome_owned_by, loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


def test_500_sessions_no_leaks(
    redis_server: RedisServer, queue: JobQueue, store: JobStore, site: FixtureSite, tmp_path: Path
) -> None:
    worker = loopback_worker(
        redis_server.url, tmp_path / "worker.log",
        sessions_per_worker=4, browsers_per_worker=2, lease_s=30, browser_max_sessions=100,
    )  # fmt: skip
    try:
        worker.wait_log("serving")
        spec = SessionSpec.model_validate({"url": site.url("/light.html"), "expect": {"analytics": True}})
        job = queue.enqueue("acme", JobRequest(sessions=[spec] * 500))
        rss_50 = chrome_50 = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            progress = store.get("acme", job).progress
            done = progress.ok + progress.failed
            if rss_50 is None and done >= 50:
                rss_50, chrome_50 = worker.rss(), len(chrome_owned_by(worker.pid))
            if done == 500:
                break
            time.sleep(0.2)
        view = store.get("acme", job)
        failures = [(s.index, s.error) for s in view.sessions if s.status != "ok"][:5]
        assert view.progress.ok == 500, (view.progress, failures)
        time.sleep(1.0)  # let the last contexts' renderers exit
        rss_500, chrome_500 = worker.rss(), len(chrome_owned_by(worker.pid))
        assert rss_50 is not None and chrome_50 is not None
        assert rss_500 <= rss_50 * 1.2, (rss_50, rss_500)
        # Browsers were recycled 2-3 times each (browser_max_sessions=100); none leaked their processes.
        assert chrome_500 <= chrome_50 + 2, (chrome_50, chrome_500)
        assert worker.stop() == 0
        assert chrome_owned_by(worker.pid) == []
    finally:
        worker.stop()
