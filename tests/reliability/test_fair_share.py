"""Item 5: tenant A submits 5,000 sessions, then tenant B 20: B's p95 queue wait stays within 2x its
wait on an idle system plus one session's duration.

Through the HTTP API (the local adapter as a process), so it holds whatever the queue's layout; the
waits are the sessions' own `timings_ms.queue_wait`. With first-in-first-out claiming B waits behind
all of A's 5,000 sessions, and the test fails once B has waited past its bound.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.support.api_process import ApiProcess, client
from tests.support.fixture_site import FixtureSite
from tests.support.fleet import Fleet, wait_until
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

A_SESSIONS = 5000
B_SESSIONS = 20
JOB_MAX = 500


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


def finished_sessions(c: httpx.Client, jobs: list[str]) -> list[dict[str, object]]:
    out = []
    for job in jobs:
        out += [s for s in c.get(f"/jobs/{job}").json()["sessions"] if s["status"] in ("ok", "failed")]
    return out


def waits_s(sessions: list[dict[str, object]]) -> list[float]:
    return [s["timings_ms"]["queue_wait"] / 1000 for s in sessions]  # type: ignore[index]


def test_small_tenant_is_served_beside_a_big_one(
    own_redis: RedisServer, site: FixtureSite, tmp_path: Path
) -> None:
    api = ApiProcess(own_redis.url).start()
    fleet = Fleet(own_redis.url, tmp_path, 2, sessions_per_worker=2, lease_s=10).start()
    try:
        with client(api, "tenant-a") as a, client(api, "tenant-b") as b:
            # B on an idle system: its own wait and one session's duration
            idle_jobs = submit(b, site.url("/light.html?fair=idle"), B_SESSIONS)
            wait_until(
                lambda: len(finished_sessions(b, idle_jobs)) == B_SESSIONS, 120, what="B on an idle system"
            )
            idle = finished_sessions(b, idle_jobs)
            idle_p95 = p95(waits_s(idle))
            duration = statistics.median(s["timings_ms"]["total"] / 1000 for s in idle)  # type: ignore[index]
            bound = 2 * idle_p95 + duration

            a_jobs = submit(a, site.url("/light.html?fair=big"), A_SESSIONS)
            b_jobs = submit(b, site.url("/light.html?fair=small"), B_SESSIONS)
            submitted = time.monotonic()
            deadline = submitted + bound + 30  # past this B's p95 cannot be within the bound any more
            while time.monotonic() < deadline and len(finished_sessions(b, b_jobs)) < B_SESSIONS:
                time.sleep(0.5)
            loaded = finished_sessions(b, b_jobs)
            a_done = len(finished_sessions(a, a_jobs))
            for job in a_jobs:  # the rest of A's backlog is not the test's business
                a.delete(f"/jobs/{job}")
    finally:
        fleet.stop()
        api.stop()

    waited = waits_s(loaded) + [time.monotonic() - submitted] * (B_SESSIONS - len(loaded))
    loaded_p95 = p95(waited)
    print(f"\nfair share: B idle p95 wait {idle_p95:.2f} s, session {duration:.2f} s, bound {bound:.2f} s; "
          f"B beside A's {A_SESSIONS}: {len(loaded)}/{B_SESSIONS} done, p95 wait {loaded_p95:.2f} s; "
          f"A sessions done meanwhile {a_done}")  # fmt: skip
    assert len(loaded) == B_SESSIONS, "B's sessions did not all run while A's backlog waited"
    assert loaded_p95 <= bound
