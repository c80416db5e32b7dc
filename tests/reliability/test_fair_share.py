"""Tenant A submits 5,000 sessions, then tenant B 20: B is served beside A, not behind it.

Through the HTTP API (the local adapter as a process), so it holds whatever the queue's layout. Claim
times come from the sessions' own `timings_ms.queue_wait` added to their job's `created_at`.

What the test asserts is the property, which cannot flake: while both tenants wait, B receives at
least `MIN_B_SHARE` of the claims (fair share gives it half; first-in-first-out gives it none, since
all of A's 5,000 sessions are ahead of it), and all of B's 20 sessions end while A's backlog waits.

The issue's timing target (B's p95 wait within 2x its wait on an idle system plus one session's
duration) is measured and printed, not asserted: it is a speed figure, and equal shares put it right
at the bound. With S slots B's 19th session (the p95 of 20) starts in round floor(18/S) on an idle
fleet and in round floor(18/(S/2)) beside A, plus the ramp while A's running sessions end, and every
round beside A is a little slower because the fleet never idles. S = 4 gives rounds 4 and 9, a miss
by construction; S = 6 (used here) gives rounds 3 and 6, the bound keeping one session's duration
for the ramp and the slower rounds.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api_process import ApiProcess, client
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_fleet import loopback_fleet

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

A_SESSIONS = 5000
B_SESSIONS = 20
JOB_MAX = 500
WORKERS = 2
SESSIONS_PER_WORKER = 3  # S = 6 slots: see the module's docstring
MIN_B_SHARE = 0.4  # fair share is 0.5; a rule that gave A two claims of three would give 0.33


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def submit(c: httpx.Client, url: str, count: int) -> list[str]:
    jobs = []
    for start in range(0, count, JOB_MAX):
        n = min(JOB_MAX, count - start)
        reply = c.post("/jobs", json={"sessions": [{"url": f"{url}&i={start + i}"} for i in range(n)]})
        assert reply.status_code == 202, reply.text
        jobs.append(reply.json()["job_id"])
    return jobs


def finished_sessions(c: httpx.Client, jobs: list[str]) -> list[dict[str, Any]]:
    """The ended sessions of `jobs`, each with `enqueued_at` and `claimed_at` (epoch seconds) added."""
    out = []
    for job in jobs:
        view = c.get(f"/jobs/{job}").json()
        created = datetime.fromisoformat(view["created_at"]).timestamp()
        for s in view["sessions"]:
            if s["status"] in ("ok", "failed"):
                wait = s["timings_ms"]["queue_wait"] / 1000
                out.append({**s, "enqueued_at": created, "claimed_at": created + wait})
    return out


def running(c: httpx.Client, jobs: list[str]) -> int:
    return sum(c.get(f"/jobs/{job}").json()["progress"]["running"] for job in jobs)


def waits_s(sessions: list[dict[str, Any]]) -> list[float]:
    return [s["timings_ms"]["queue_wait"] / 1000 for s in sessions]


def test_small_tenant_is_served_beside_a_big_one(
    own_redis: RedisServer, site: FixtureSite, tmp_path: Path
) -> None:
    api = ApiProcess(own_redis.url).start()
    fleet = loopback_fleet(
        own_redis.url, tmp_path, WORKERS, sessions_per_worker=SESSIONS_PER_WORKER, lease_s=10
    )
    try:
        with client(api, "tenant-a") as a, client(api, "tenant-b") as b:
            # B on an idle system: its own wait and one session's duration
            idle_jobs = submit(b, site.url("/light.html?fair=idle"), B_SESSIONS)
            wait_until(
                lambda: len(finished_sessions(b, idle_jobs)) == B_SESSIONS, 120, what="B on an idle system"
            )
            idle = finished_sessions(b, idle_jobs)
            idle_p95 = p95(waits_s(idle))
            duration = statistics.median(s["timings_ms"]["total"] / 1000 for s in idle)
            bound = 2 * idle_p95 + duration

            a_jobs = submit(a, site.url("/light.html?fair=big"), A_SESSIONS)
            b_jobs = submit(b, site.url("/light.html?fair=small"), B_SESSIONS)
            submitted = time.monotonic()
            deadline = submitted + bound + 30  # B beside A: generous, first-in-first-out needs minutes
            while time.monotonic() < deadline and len(finished_sessions(b, b_jobs)) < B_SESSIONS:
                time.sleep(0.5)
            loaded = finished_sessions(b, b_jobs)
            for job in a_jobs:  # the rest of A's backlog is not the test's business
                a.delete(f"/jobs/{job}")
            # A's sessions claimed while B waited must have ended to be counted
            wait_until(lambda: running(a, a_jobs) == 0, 60, what="A's running sessions to end")
            a_done = finished_sessions(a, a_jobs)
    finally:
        fleet.shutdown()
        api.stop()

    assert len(loaded) == B_SESSIONS, "B's sessions did not all run while A's backlog waited"
    b_claims = sorted(s["claimed_at"] for s in loaded)
    b_submitted = min(s["enqueued_at"] for s in loaded)
    a_claims = [s["claimed_at"] for s in a_done if b_submitted <= s["claimed_at"] <= b_claims[-1]]
    share = B_SESSIONS / (B_SESSIONS + len(a_claims))
    loaded_p95 = p95(waits_s(loaded))
    verdict = "met" if loaded_p95 <= bound else "NOT met"
    print(
        f"\nfair share: while both waited B got {B_SESSIONS} claims, A {len(a_claims)}, "
        f"B's share {share:.2f}; "
        f"B idle p95 wait {idle_p95:.2f} s, session {duration:.2f} s; beside A's {A_SESSIONS}: p95 wait "
        f"{loaded_p95:.2f} s against the bound 2 x idle + session = {bound:.2f} s ({verdict})"
    )
    assert share >= MIN_B_SHARE, f"B got {share:.0%} of the claims while both tenants waited"
