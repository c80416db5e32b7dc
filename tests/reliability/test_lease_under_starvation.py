"""Lease renewal under CPU starvation and 200 ms of injected Redis latency: 0 false re-queues.

The worker reaches Redis through a loopback proxy that delays every chunk 100 ms each way (+200 ms a
round trip), runs at nice 10 while twice as many busy loops as cores run at nice 0, and holds
sessions that outlast several renewal periods. The worker is never killed, so any session the
reaper re-queues is a false re-queue, and every session must end on its first attempt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import redis

from jobcore import keys
from jobcore.models import JobRequest, SessionSpec
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.latency_proxy import LatencyProxy
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_launcher import loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

LEASE_S = 6
ONE_WAY_DELAY_S = 0.1
SESSIONS = 9
BUSY_LOOP_S = 60  # each busy loop ends by itself after this, whatever happens to the test


def renice_tree(pid: int, niceness: int) -> None:
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            proc.nice(niceness)
        except psutil.Error:
            continue


def test_no_false_requeue_under_cpu_starvation_and_latency(
    own_redis: RedisServer, site: FixtureSite, tmp_path: Path
) -> None:
    proxy = LatencyProxy(own_redis.port, ONE_WAY_DELAY_S).start()
    settings = Settings(redis_url=own_redis.url, lease_s=LEASE_S)
    r = connect(settings)
    queue, store = JobQueue(r, settings), JobStore(r)
    with redis.Redis.from_url(proxy.url) as slow:
        slow.ping()  # connecting costs several round trips (HELLO, CLIENT SETINFO): time the next one
        t0 = time.monotonic()
        slow.ping()
        rtt = time.monotonic() - t0
    assert rtt >= 2 * ONE_WAY_DELAY_S  # the latency is really there

    worker = loopback_worker(proxy.url, tmp_path / "worker.log", lease_s=LEASE_S, sessions_per_worker=3,
                           heartbeat_s=1.0, claim_poll_s=0.2)  # fmt: skip
    busy: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    requeued = [0]

    def reap() -> None:  # the reaper, straight to Redis (no latency), every second
        while not stop.wait(1.0):
            requeued[0] += queue.recover_stalled().requeued

    reaper = threading.Thread(target=reap, daemon=True)
    try:
        worker.wait_log("serving", timeout=60)
        renice_tree(worker.pid, 10)
        loop = f"import time\nend = time.monotonic() + {BUSY_LOOP_S}\nwhile time.monotonic() < end: pass"
        busy = [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(2 * (os.cpu_count() or 2))]
        reaper.start()
        # each session holds its page ~4 s: several renewal periods (lease/3 = 2 s) under starvation
        hold = {"url": site.url("/hold.html"), "steps": [{"action": "wait", "ms": 4000}], "timeout_s": 60}
        job = queue.enqueue("acme", JobRequest(sessions=[SessionSpec.model_validate(hold)] * SESSIONS))
        t0 = time.monotonic()
        wait_until(lambda: store.get("acme", job).status == "completed", 150, what="the starved job to end")
        elapsed = time.monotonic() - t0
        cpu_busy = sum(psutil.Process(p.pid).cpu_times().user for p in busy if p.poll() is None)
    finally:
        stop.set()
        for p in busy:
            p.kill()
            p.wait(10)
        reaper.join(5)
        worker.stop()
        proxy.stop()

    view = store.get("acme", job)
    log = worker.log()
    print(f"\nstarvation: redis round trip via proxy {rtt * 1000:.0f} ms, {len(busy)} busy loops "
          f"({cpu_busy:.0f} CPU-s), "
          f"{SESSIONS} sessions in {elapsed:.1f} s; statuses {[s.status.value for s in view.sessions]}; "
          f"false re-queues {requeued[0]}")  # fmt: skip
    assert requeued[0] == 0
    assert "lease lost" not in log
    assert all(s.attempts == 1 for s in view.sessions)
    assert r.xlen(keys.DEAD_LETTER) == 0
    assert view.progress.ok + view.progress.failed == SESSIONS
