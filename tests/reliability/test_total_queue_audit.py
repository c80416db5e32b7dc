"""The total-queue audit: what goes in must come out, exactly once, under kill -9 and Redis faults.

At least 2,000 light sessions go in through the HTTP API (the local adapter as a process) while
three worker processes run them. Meanwhile the test kills a random worker with SIGKILL every few
seconds (and, like ECS, starts a replacement), pauses Redis with CLIENT PAUSE, kills redis-server
and restarts it from its AOF, and runs the reaper's function on a schedule. After the drain:

- lost = 0: every accepted session (a 202) has exactly one terminal status and result;
- every session's result was accepted from a worker at most once (the fenced write), and exactly
  once unless it was dead-lettered;
- duplicate executions (a page loaded more than once for one session, counted by the site) are
  reported, and bounded by kills x concurrency: only sessions in flight on a killed worker rerun.

Figures are printed (`pytest -s`); TT_AUDIT_SESSIONS overrides the count (≥ 2,000 for the issue).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from jobcore import keys
from jobcore.errors import StoreUnavailableError
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from tests.support.api_process import TOKENS, ApiProcess
from tests.support.audit import audit_jobs, written_results
from tests.support.fixture_site import FixtureSite
from tests.support.redis_faults import client_pause, crash_restart
from tests.support.redis_server import RedisServer
from traffic_tool.local.worker_fleet import loopback_fleet

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

SESSIONS = int(os.environ.get("TT_AUDIT_SESSIONS", "2000"))
BATCH = 100
WORKERS = 3
CONCURRENCY = 2
LEASE_S = 3
KILL_EVERY_S = (4.0, 8.0)
CHAOS_MAX_S = 150.0  # faults stop after this (or when the queue has drained); then it drains
DRAIN_MAX_S = 600.0  # the whole run, faults included
SUBMIT_EVERY_S = 2.0
PAUSES_AT_S = (20.0, 90.0)
PAUSE_MS = 1500
RESTARTS_AT_S = (45.0, 120.0)


class Submitter(threading.Thread):
    """A client that retries like the README says: same Idempotency-Key, after 503/409 or a dropped line."""

    def __init__(self, api: ApiProcess, site: FixtureSite, run: str) -> None:
        super().__init__(daemon=True)
        self.api, self.site, self.run_tag = api, site, run
        self.accepted: dict[str, int] = {}  # job id -> sessions
        self.urls: dict[tuple[str, int], str] = {}  # (job id, index) -> the path the site sees
        self.statuses: Counter[int | str] = Counter()
        self.failures: list[str] = []

    def run(self) -> None:
        tokens = list(TOKENS.values())
        for b in range(SESSIONS // BATCH):
            token = tokens[b % len(tokens)]
            paths = [f"/light.html?run={self.run_tag}&b={b}&i={i}" for i in range(BATCH)]
            body = {"sessions": [{"url": self.site.url(p), "timeout_s": 20} for p in paths]}
            job_id = self._submit(token, f"{self.run_tag}-{b}", body)
            if job_id is None:
                self.failures.append(f"batch {b} never accepted")
                continue
            self.accepted[job_id] = BATCH
            for i, p in enumerate(paths):
                self.urls[(job_id, i)] = p
            time.sleep(SUBMIT_EVERY_S)

    def _submit(self, token: str, key: str, body: dict[str, object]) -> str | None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                reply = httpx.post(f"{self.api.url}/jobs", json=body, headers=headers, timeout=30)
            except httpx.TransportError as exc:
                self.statuses[type(exc).__name__] += 1
                time.sleep(0.5)
                continue
            self.statuses[reply.status_code] += 1
            if reply.status_code == 202:
                return str(reply.json()["job_id"])
            if reply.status_code not in (409, 503):
                self.failures.append(f"{reply.status_code}: {reply.text[:200]}")
                return None
            time.sleep(0.5)
        return None


class Reaper(threading.Thread):
    """The reaper Lambda's function on its schedule (every second here, a third of a lease)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.queue = JobQueue(connect(settings), settings)
        self.stop = threading.Event()
        self.requeued = self.dead = self.failed_runs = 0

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                report = self.queue.recover_stalled()
            except StoreUnavailableError:
                self.failed_runs += 1  # Redis restarting: the next run catches up, as in AWS
                continue
            self.requeued += report.requeued
            self.dead += report.dead_lettered


def drained(r_settings: Settings, accepted: dict[str, int]) -> bool:
    client = connect(r_settings)
    try:
        return all(client.hget(keys.job(job_id), "finished_at") is not None for job_id in accepted)
    except Exception:
        return False
    finally:
        client.close()


def test_total_queue_audit(own_redis: RedisServer, site: FixtureSite, tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("TT_AUDIT_SEED", "6"))
    run = uuid.uuid4().hex[:8]
    settings = Settings(redis_url=own_redis.url, lease_s=LEASE_S, max_attempts=5)
    api = ApiProcess(own_redis.url).start()
    fleet = loopback_fleet(own_redis.url, tmp_path, WORKERS, sessions_per_worker=CONCURRENCY, lease_s=LEASE_S,
                           heartbeat_s=0.5, claim_poll_s=0.1)  # fmt: skip
    submitter = Submitter(api, site, run)
    reaper = Reaper(settings)
    pauses = restarts = 0
    started = time.monotonic()
    try:
        submitter.start()
        reaper.start()
        next_kill = started + rng.uniform(*KILL_EVERY_S)
        pending_pauses, pending_restarts = list(PAUSES_AT_S), list(RESTARTS_AT_S)
        while time.monotonic() - started < DRAIN_MAX_S:
            now = time.monotonic()
            elapsed = now - started
            finished = not submitter.is_alive() and drained(settings, submitter.accepted)
            if finished:
                break
            if elapsed < CHAOS_MAX_S:
                if now >= next_kill:
                    fleet.kill_one(rng)
                    next_kill = now + rng.uniform(*KILL_EVERY_S)
                if pending_pauses and elapsed >= pending_pauses[0]:
                    pending_pauses.pop(0)
                    client_pause(own_redis, PAUSE_MS)
                    pauses += 1
                if pending_restarts and elapsed >= pending_restarts[0]:
                    pending_restarts.pop(0)
                    crash_restart(own_redis, down_s=0.5)
                    restarts += 1
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        reaper.stop.set()
        reaper.join(10)
        submitter.join(1)
        fleet.shutdown()
        api.stop()

    r = connect(settings)
    audit = audit_jobs(r, submitter.accepted)
    written = written_results(fleet.all_logs())
    dead_letters = {(f["j"], int(f["i"])) for _, f in r.xrange(keys.DEAD_LETTER)}
    executions = Counter(path for method, path, _ in site.hits if method == "GET" and f"run={run}&" in path)
    duplicates = sum(n - 1 for n in executions.values() if n > 1)
    bound = fleet.kills * CONCURRENCY
    stored = set(r.zrange(keys.tenant_jobs("tenant-a"), 0, -1)) | set(
        r.zrange(keys.tenant_jobs("tenant-b"), 0, -1)
    )
    phantoms = stored - set(submitter.accepted)
    twice = {k: n for k, n in written.items() if n > 1}
    unwritten = [k for k in submitter.urls if written[k] == 0 and k not in dead_letters]
    print(
        f"\ntotal-queue audit: accepted={audit.accepted} terminal={audit.terminal} lost={len(audit.lost)} "
        f"statuses={dict(audit.statuses)} dead_lettered={audit.dead_lettered}\n"
        f"  faults: kills={fleet.kills} client_pauses={pauses} redis_crash_restarts={restarts} "
        f"reaper: requeued={reaper.requeued} dead={reaper.dead} runs_failed={reaper.failed_runs}\n"
        f"  executions={sum(executions.values())} duplicated={duplicates} (bound kills×concurrency={bound}) "
        f"results written twice={len(twice)} unlogged writes={len(unwritten)}\n"
        f"  phantom jobs (stored, never a 202)={len(phantoms)}"
        f" submit answers={dict(submitter.statuses)} elapsed={elapsed:.0f} s"
    )
    assert not submitter.failures, submitter.failures
    assert audit.accepted >= SESSIONS
    assert audit.lost == [], f"lost {len(audit.lost)}: {audit.lost[:5]}"
    assert audit.terminal == audit.accepted
    assert audit.inconsistent == [], audit.inconsistent[:5]
    assert twice == {}, f"results accepted twice: {list(twice.items())[:5]}"
    # A write whose reply never came back leaves a written result unlogged: the worker was killed before
    # logging it, or Redis was killed after applying it (the retry is then refused by the fence). At
    # most `concurrency` per kill and per worker per Redis crash; more means results nobody wrote.
    unlogged_bound = bound + restarts * WORKERS * CONCURRENCY
    assert len(unwritten) <= unlogged_bound, f"terminal without a worker's result: {unwritten[:5]}"
    assert all(executions[submitter.urls[k]] >= 1 for k in submitter.urls if k not in dead_letters)
    assert duplicates <= bound
    assert fleet.kills >= 10 and pauses >= 1 and restarts >= 1
