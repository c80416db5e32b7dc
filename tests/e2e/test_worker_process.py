"""The worker as a process against real Redis: kill -9, SIGSTOP past the lease, SIGTERM, heartbeat.

Sessions run on fixture pages; recovery is `JobQueue.recover_stalled`, the function
the reaper Lambda schedules, called here by the test once the lease has expired.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
import redis

from jobcore import keys
from jobcore.models import JobRequest, JobView, SessionSpec
from jobcore.queue import JobQueue
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_launcher import WorkerProcess, chrome_owned_by, loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

TENANT = "acme"


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(**settings: object) -> WorkerProcess:
        proc = loopback_worker(redis_server.url, tmp_path / f"worker-{len(started)}.log", **settings)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def enqueue(queue: JobQueue, specs: list[dict[str, object]]) -> str:
    request = JobRequest(sessions=[SessionSpec.model_validate(s) for s in specs])
    return queue.enqueue(TENANT, request)


def wait_for(store: JobStore, job_id: str, done: Callable[[JobView], bool], timeout: float = 60.0) -> JobView:
    def reached() -> JobView | None:
        view = store.get(TENANT, job_id)
        return view if done(view) else None

    return wait_until(reached, timeout, f"job {job_id}'s state", interval=0.1)


def test_kill_9_sessions_recovered_exactly_once(
    workers: Callable[..., WorkerProcess], queue: JobQueue, store: JobStore, r: redis.Redis, site: FixtureSite
) -> None:
    first = workers(sessions_per_worker=4)
    first.wait_log("serving")
    job = enqueue(queue, [{"url": site.url(f"/slow?s=4&k={i}"), "timeout_s": 15} for i in range(4)])
    wait_for(store, job, lambda v: v.progress.running == 4)

    first.signal(signal.SIGKILL)
    first.proc.wait(10)
    time.sleep(2.5)  # past the 2 s lease
    report = queue.recover_stalled()
    assert report.requeued == 4 and report.dead_lettered == 0

    second = workers(sessions_per_worker=4)
    view = wait_for(store, job, lambda v: v.status == "completed", timeout=60)
    assert view.progress.total == 4 and view.progress.ok == 4 and view.progress.failed == 0
    assert sorted(s.index for s in view.sessions) == [0, 1, 2, 3]
    assert all(s.status == "ok" and s.attempts == 2 and s.http_status == 200 for s in view.sessions)
    assert r.xlen(keys.DEAD_LETTER) == 0
    # The dead worker's browsers were orphans; the new worker's reaper (at start) killed them.
    assert chrome_owned_by(first.pid) == []
    second.stop()


def test_sigstop_past_lease_stale_write_refused(
    workers: Callable[..., WorkerProcess], queue: JobQueue, store: JobStore, site: FixtureSite
) -> None:
    stale = workers()
    stale.wait_log("serving")
    job = enqueue(queue, [{"url": site.url("/slow?s=3"), "timeout_s": 20}])
    wait_for(store, job, lambda v: v.progress.running == 1)
    stale.signal(signal.SIGSTOP)
    time.sleep(2.5)
    assert queue.recover_stalled().requeued == 1

    retry = workers()
    view = wait_for(store, job, lambda v: v.status == "completed", timeout=30)
    retry_result = view.sessions[0]
    assert retry_result.status == "ok" and retry_result.attempts == 2
    retry.stop()

    stale.signal(signal.SIGCONT)
    stale.wait_log("lease lost", timeout=15)
    idle = lambda: all(w["active"] == 0 for w in queue.workers.live().values())  # noqa: E731
    wait_until(idle, 15, "the stale worker to let its session go", interval=0.1)
    after = store.get(TENANT, job)
    assert after.sessions == [retry_result]  # the stale worker's result never replaced the retry's
    assert after.progress.ok == 1 and after.progress.total == 1
    assert stale.stop() == 0


def test_sigterm_hands_back_and_exits_clean(
    workers: Callable[..., WorkerProcess], queue: JobQueue, store: JobStore, r: redis.Redis, site: FixtureSite
) -> None:
    leaving = workers(sessions_per_worker=3, stop_timeout_s=4)
    leaving.wait_log("serving")
    job = enqueue(
        queue,
        [{"url": site.url("/slow?s=8&a"), "timeout_s": 20}, {"url": site.url("/slow?s=8&b"), "timeout_s": 20},
         {"url": site.url("/slow?s=1"), "timeout_s": 20}],
    )  # fmt: skip
    wait_for(store, job, lambda v: v.progress.running == 3)
    beats = r.hgetall(keys.WORKERS)
    assert len(beats) == 1 and '"capacity": 3' in next(iter(beats.values()))

    wait_until(lambda: site.requests_to("/slow?s=8&a") and site.requests_to("/slow?s=8&b"), 10, "the pages")
    leaving.signal(signal.SIGTERM)
    assert leaving.proc.wait(4 + 3) == 0  # the two 8 s pages did not hold it past the 4 s stop timeout
    assert chrome_owned_by(leaving.pid) == []
    assert r.hlen(keys.WORKERS) == 0  # retired from the registry
    mid = store.get(TENANT, job)
    assert mid.progress.ok == 1 and mid.progress.queued == 2  # the short one finished; two handed back
    assert "handed back (ok)" in leaving.log()

    workers(sessions_per_worker=2)
    view = wait_for(store, job, lambda v: v.status == "completed", timeout=40)
    assert view.progress.ok == 3
    assert all(s.attempts == 1 for s in view.sessions)  # a hand-back is not an attempt


def test_heartbeat_reports_active_and_capacity(
    workers: Callable[..., WorkerProcess], queue: JobQueue, store: JobStore, site: FixtureSite
) -> None:
    worker = workers(sessions_per_worker=2)
    worker.wait_log("serving")
    idle = queue.workers.live()
    assert len(idle) == 1 and next(iter(idle.values()))["active"] == 0
    job = enqueue(queue, [{"url": site.url("/slow?s=3"), "timeout_s": 10}])
    wait_for(store, job, lambda v: v.progress.running == 1)
    busy = wait_until(lambda: [w for w in queue.workers.live().values() if w["active"] == 1], 5, "a beat")
    assert busy[0]["capacity"] == 2


def xvfb_processes() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "") == "Xvfb"}


def test_headful_mode_runs_full_chromium_on_its_own_xvfb(
    workers: Callable[..., WorkerProcess], queue: JobQueue, store: JobStore, site: FixtureSite
) -> None:
    # Given a worker in headful mode (full Chromium, on an Xvfb the worker starts itself)
    before = xvfb_processes()
    worker = workers(headful=1, sessions_per_worker=1)
    worker.wait_log("serving")
    assert xvfb_processes() - before, "the worker started no Xvfb"
    # When it runs a session with a screenshot-free light page
    job = enqueue(queue, [{"url": site.url("/light.html"), "expect": {"analytics": True}}])
    view = wait_for(store, job, lambda v: v.status == "completed")
    # Then the session is as good as a headless one
    [session] = view.sessions
    assert session.status == "ok" and session.http_status == 200 and session.analytics
    # and stopping the worker stops its Xvfb
    assert worker.stop() == 0
    wait_until(lambda: not xvfb_processes() - before, 10, "its Xvfb to exit", interval=0.1)


class FakeEcsAgent:
    """The ECS agent's task-protection endpoint, as a worker inside a task sees it ($ECS_AGENT_URI)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                agent.calls.append({"path": self.path, **json.loads(body)})
                reply = b'{"protection": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def test_scale_in_protection_is_on_while_busy_and_off_when_idle(
    workers: Callable[..., WorkerProcess],
    queue: JobQueue,
    store: JobStore,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = FakeEcsAgent()
    monkeypatch.setenv("ECS_AGENT_URI", agent.uri)
    worker = workers(sessions_per_worker=1)
    worker.wait_log("serving")
    job = enqueue(queue, [{"url": site.url("/slow?s=2"), "timeout_s": 15}])
    wait_for(store, job, lambda v: v.status == "completed")
    unprotected = lambda: bool(agent.calls) and agent.calls[-1]["ProtectionEnabled"] is False  # noqa: E731
    wait_until(unprotected, 10, "protection off", interval=0.1)
    agent.server.shutdown()
    states = [call["ProtectionEnabled"] for call in agent.calls]
    assert True in states, agent.calls
    on = next(call for call in agent.calls if call["ProtectionEnabled"] is True)
    assert on["path"] == "/v1/task-protection/v1/state" and on["ExpiresInMinutes"] == 60
    assert states[-1] is False  # idle again: the scaler may take this task
