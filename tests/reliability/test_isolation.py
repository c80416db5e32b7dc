"""Items 8 and 9 on one worker process: no residue across tenants, no DevTools port.

8. Tenant B's session right after tenant A's, on the same worker and the same browser, sees none of
   A's cookies, local or session storage, or service workers (tests/fixtures/pages/residue.html
   reports what it finds to the site before it leaves its own marks, and what it reads back after).
9. While sessions run, no Chromium process of the worker listens on a TCP port (Playwright's pipe
   transport). The check is shown to work on a Chromium started with --remote-debugging-port.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest

from jobcore.models import JobRequest, SessionSpec
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_launcher import WorkerProcess, chrome_owned_by, loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def one_worker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[WorkerProcess, JobQueue, JobStore]]:
    server = RedisServer().start()
    log = tmp_path_factory.mktemp("isolation") / "worker.log"
    worker = loopback_worker(server.url, log, sessions_per_worker=1, browsers_per_worker=1, lease_s=10)
    settings = Settings(redis_url=server.url, lease_s=10)
    r = connect(settings)
    try:
        worker.wait_log("serving", timeout=60)
        yield worker, JobQueue(r, settings), JobStore(r)
    finally:
        worker.stop()
        r.close()
        server.cleanup()


def run(queue: JobQueue, store: JobStore, tenant: str, specs: list[dict[str, object]]) -> str:
    job = queue.enqueue(tenant, JobRequest(sessions=[SessionSpec.model_validate(s) for s in specs]))
    wait_until(lambda: store.get(tenant, job).status == "completed", 60, what=f"{tenant}'s job")
    return job


def reports(site: FixtureSite, who: str) -> dict[str, dict[str, object]]:
    found = {}
    for _, path, _ in list(site.hits):
        parts = urlsplit(path)
        if parts.path == "/residue-report":
            q = parse_qs(parts.query)
            if q["who"][0] == who:
                found[q["phase"][0]] = json.loads(q["data"][0])
    return found


def test_no_residue_from_tenant_a_for_tenant_b(
    one_worker: tuple[WorkerProcess, JobQueue, JobStore], site: FixtureSite
) -> None:
    _, queue, store = one_worker
    tag = str(time.monotonic_ns())
    page = {"steps": [{"action": "wait", "ms": 1500}]}
    a = run(queue, store, "tenant-a", [{"url": site.url(f"/residue.html?who=a{tag}"), **page}])
    b = run(queue, store, "tenant-b", [{"url": site.url(f"/residue.html?who=b{tag}"), **page}])
    seen_a, seen_b = reports(site, f"a{tag}"), reports(site, f"b{tag}")
    print(f"\nresidue: A left {seen_a.get('after')}; B found {seen_b.get('before')}")
    assert store.get("tenant-a", a).sessions[0].status == "ok"
    assert store.get("tenant-b", b).sessions[0].status == "ok"
    # control: A could read back what it left, so B would have seen it had it survived
    assert seen_a["after"]["cookie"] == f"mark=a{tag}"
    assert seen_a["after"]["local"] == f"a{tag}" and seen_a["after"]["session"] == f"a{tag}"
    before = seen_b["before"]
    assert (before["cookie"], before["local"], before["session"]) == ("", None, None)
    assert before["workers"] in (0, -1)  # no registration survived (-1: the API is blocked)


def listening_chrome(pids: list[int]) -> list[tuple[int, int]]:
    found = []
    for pid in pids:
        try:
            found += [
                (pid, c.laddr.port)
                for c in psutil.Process(pid).net_connections("tcp")
                if c.status == "LISTEN"
            ]
        except psutil.Error:
            continue
    return found


def test_no_devtools_port_while_sessions_run(
    one_worker: tuple[WorkerProcess, JobQueue, JobStore], site: FixtureSite, tmp_path: Path
) -> None:
    worker, queue, store = one_worker
    hold = {"url": site.url("/hold.html"), "steps": [{"action": "wait", "ms": 3000}]}
    job = queue.enqueue("tenant-a", JobRequest(sessions=[SessionSpec.model_validate(hold)] * 2))
    wait_until(lambda: store.get("tenant-a", job).progress.running == 1, 30, what="a running session")
    samples, listening, cmdlines = 0, [], []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        pids = chrome_owned_by(worker.pid)
        samples += len(pids)
        listening += listening_chrome(pids)
        for pid in pids:
            try:
                cmdlines.append(" ".join(psutil.Process(pid).cmdline()))
            except psutil.Error:
                continue
        time.sleep(0.5)
    wait_until(lambda: store.get("tenant-a", job).status == "completed", 30, what="the held sessions")

    # control: the same check finds the port of a Chromium that opens one
    chromium = Settings().chromium_path
    probe = subprocess.Popen(
        [chromium, "--no-sandbox", "--remote-debugging-port=0", f"--user-data-dir={tmp_path}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        control: list[tuple[int, int]] = []
        end = time.monotonic() + 15
        while not control and time.monotonic() < end:
            time.sleep(0.3)
            control = listening_chrome([probe.pid])
    finally:
        probe.kill()
        probe.wait(10)
    print(f"\ndevtools: {samples} Chromium process samples while sessions ran, listening: {listening}; "
          f"control Chromium with --remote-debugging-port listened on {control}")  # fmt: skip
    assert samples > 0
    assert listening == []
    assert not any("--remote-debugging-port" in c for c in cmdlines)
    assert control, "the check did not see a DevTools port it should have seen"
