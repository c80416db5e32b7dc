"""Nothing reaches the analytics vendor unless asked, through the whole job path.

Given a counting collector on loopback (the fixture site counts every `/collect` it receives) and
pages that all fire GA4, when a job of 20 sessions runs on a real worker process, then by default
the collector receives 0 requests (the worker answers them) while every session's ledger holds the
hit; with `analytics_delivery: "send"` it receives every hit and each entry says `delivered: true`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobcore.models import JobRequest, JobView, SessionSpec
from jobcore.queue import JobQueue
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for_job, wait_until
from traffic_tool.local.worker_launcher import WorkerProcess, loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

TENANT = "acme"
SESSIONS = 20


@pytest.fixture
def worker(redis_server: RedisServer, tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = loopback_worker(redis_server.url, tmp_path / "worker.log", sessions_per_worker=4)
    yield proc
    proc.stop()


def run_job(queue: JobQueue, store: JobStore, site: FixtureSite, delivery: str) -> JobView:
    spec = {"url": site.url("/light.html"), "expect": {"analytics": True}, "analytics_delivery": delivery}
    job = queue.enqueue(TENANT, JobRequest(sessions=[SessionSpec.model_validate(spec)] * SESSIONS))
    return wait_for_job(store, TENANT, job)


def page_views(view: JobView) -> list[bool]:
    return [h.delivered for s in view.sessions for h in s.analytics if h.event == "page_view"]


def test_collector_receives_nothing_by_default_and_every_hit_with_send(
    worker: WorkerProcess, queue: JobQueue, store: JobStore, site: FixtureSite
) -> None:
    before = len(site.beacons())
    answered = run_job(queue, store, site, "answer")
    assert answered.progress.ok == SESSIONS, [s.error for s in answered.sessions if s.error]
    assert page_views(answered) == [False] * SESSIONS  # every session saw its hit …
    assert len(site.beacons()) == before  # … and the collector received none of them

    sent = run_job(queue, store, site, "send")
    assert sent.progress.ok == SESSIONS
    assert page_views(sent) == [True] * SESSIONS
    # a beacon may land just after its session ended
    wait_until(lambda: len(site.beacons()) >= before + SESSIONS, 5, "the beacons", interval=0.05)
    assert len(site.beacons()) == before + SESSIONS
