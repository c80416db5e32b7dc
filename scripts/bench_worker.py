"""Worker benchmark on the project's own fixture pages, served on loopback (`make bench-worker`).

Prints figures, asserts nothing. A real worker process (`traffic-tool worker`)
claims sessions from a real redis-server; the figures are those of the whole
worker process tree (Python, Playwright's driver, Chromium and its renderers):

- light page: sessions/min and CPU-seconds per session, whole machine (fresh context per session,
  analytics detection on; with `--ledger both`, also with the hit ledger and Web Vitals off: their
  cost); then the same page over HTTPS (a leaf of a CA made at start, trusted through
  TRAFFIC_TOOL_EXTRA_CA_FILE): the TLS handshake's cost per session, both sides of it on this machine;
- where the light page's CPU went: renderers, browser, Playwright's driver, the worker's Python with its
  egress proxy (every request goes through it), the rest;
- the floor: the same light page through a bare Playwright pool in the same run, and the worker's
  throughput as a ratio of it (target >= 0.85, and >= 500 light sessions/min);
- warm tabs (`--tab N`): the light page with `isolation: "tab"` end to end (queue, guards, egress proxy,
  the full wipe), beside a bare warm-tab pool (one page per lane, a CDP wipe of cookies, cache and
  storage: the issue's experiment) and the bare fresh-context pool, each ratio (target >= 1,000/min);
- heavy page: KB per session with the default guards, and whether the beacon was still detected;
- peak PSS of all Chromium processes per concurrent session, at 8 concurrent sessions;
- the cost of evidence (`--artifacts N`): the light page with every artifact off, then with
  `har: on_failure`, `trace: on_failure` and both (the sessions pass, so this is the recording cost
  alone: "on_failure" records from the start either way), sessions/min and CPU-s per session.

Every load loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

ROOT = Path(__file__).resolve().parents[1]
for sub in ("", "layers/core", "worker", "cli"):
    sys.path.insert(0, str(ROOT / sub))

from jobcore.models import JobRequest, JobView, SessionSpec  # noqa: E402
from jobcore.queue import JobQueue  # noqa: E402
from jobcore.redis_conn import connect  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from jobcore.store import JobStore  # noqa: E402
from traffic_tool.capacity.measured import Figure, default_path, write_figures  # noqa: E402
from traffic_tool.local.redis_process import RedisServer  # noqa: E402
from traffic_tool.local.sample_site import SampleSite  # noqa: E402
from traffic_tool.local.throwaway_pki import ThrowawayPki, server_context  # noqa: E402
from traffic_tool.local.worker_launcher import WorkerProcess, chrome_owned_by, loopback_worker  # noqa: E402
from worker.browser_pool import launch_args  # noqa: E402
from worker.cpu_share import tree_cpu_s  # noqa: E402

TENANT = "bench"
MAX_WAIT_S = 600.0


def tree_cpu(pid: int) -> float:
    try:
        return tree_cpu_s(psutil.Process(pid))
    except psutil.Error:
        return 0.0


def machine_busy_s() -> float:
    """CPU-seconds the whole machine has spent busy. The worker tree's own figure can miss Chromium's
    short-lived renderers (in some runs it read half of this), so per-session CPU is read here: an
    upper bound, as it includes the fixture server, Redis and this script."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0))


def _role(proc: psutil.Process, worker_pid: int) -> str:
    if proc.pid == worker_pid:
        return "worker Python (queue loop, guards, egress proxy)"
    name = proc.name().lower()
    cmd = " ".join(proc.cmdline())
    if "chrom" in name or "headless" in name:
        if "--type=renderer" in cmd or "--type=zygote" in cmd:
            return "renderers"  # the zygote reaps renderers: their CPU lands in its children's times
        return "browser (main, GPU, utility)"
    if name == "node" or ("playwright" in cmd and "driver" in cmd):
        return "Playwright's driver"
    return "other (Redis, fixture site, this bench)"


def cpu_by_role(worker_pid: int) -> dict[str, float]:
    """CPU-seconds so far of every process on the machine, by role (children's reaped time included)."""
    roles: dict[str, float] = {}
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            role = _role(proc, worker_pid)
            # Children's reaped time only where the children are renderers (the zygote's); the driver's
            # are retired browsers, whose time its own line would then wrongly carry.
            reaped = t.children_user + t.children_system if role == "renderers" else 0.0
            roles[role] = roles.get(role, 0.0) + t.user + t.system + reaped
    return roles


def chrome_pss(pid: int) -> tuple[int, int]:
    """(PSS in bytes, process count) of every Chromium process of the worker: those carrying its owner
    mark and its descendants, so neither a missing mark nor a re-parented process is left out."""
    pids = set(chrome_owned_by(pid))
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                name = child.name().lower()
                if "chrom" in name or "headless" in name:
                    pids.add(child.pid)
    total = 0
    for chrome in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(chrome).memory_full_info().pss
    return total, len(pids)


async def _bare_playwright(url: str, sessions: int, concurrency: int, browsers: int) -> tuple[float, float]:
    """The floor: Playwright alone, a fresh context per page, the worker's launch flags, no guards,
    no byte counting, no analytics wait, no queue. Returns (seconds, machine CPU-seconds)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        pool = await _launch(pw, browsers)
        slots = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with slots:
                context = await pool[i % browsers].new_context()
                page = await context.new_page()
                await page.goto(f"{url}?bare={i}", wait_until="load")
                await context.close()

        await asyncio.gather(*(one(i) for i in range(20)))  # warm up
        timed = await _timed(asyncio.gather(*(one(i) for i in range(sessions))))
        for browser in pool:
            await browser.close()
    return timed


async def _bare_tabs(url: str, sessions: int, concurrency: int, browsers: int) -> tuple[float, float]:
    """The warm-tab floor: one long-lived page per lane, wiped over CDP after each page (cookies, HTTP
    cache, the origin's storage), no guards, no queue. Returns (seconds, machine CPU-seconds)."""
    from urllib.parse import urlsplit

    from playwright.async_api import async_playwright

    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    async with async_playwright() as pw:
        pool = await _launch(pw, browsers)
        lanes = []
        for lane in range(concurrency):
            context = await pool[lane % browsers].new_context()
            page = await context.new_page()
            lanes.append((page, await context.new_cdp_session(page)))

        async def lane_run(lane: int, count: int) -> None:
            page, cdp = lanes[lane]
            for i in range(count):
                await page.goto(f"{url}?tab={lane}-{i}", wait_until="load")
                await cdp.send("Network.clearBrowserCookies")
                await cdp.send("Network.clearBrowserCache")
                await cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})

        await asyncio.gather(*(lane_run(lane, 5) for lane in range(concurrency)))  # warm up
        per_lane = [sessions // concurrency + (1 if lane < sessions % concurrency else 0)
                    for lane in range(concurrency)]  # fmt: skip
        timed = await _timed(asyncio.gather(*(lane_run(n, c) for n, c in enumerate(per_lane))))
        for browser in pool:
            await browser.close()
    return timed


async def _launch(pw: Playwright, browsers: int) -> list[Browser]:
    """The bare pools' browsers: the worker's executable and launch flags."""
    settings = Settings(offline_dns=True)
    return [
        await pw.chromium.launch(executable_path=settings.chromium_path, args=launch_args(settings))
        for _ in range(browsers)
    ]


async def _timed(work: Awaitable[object]) -> tuple[float, float]:
    """(seconds, machine CPU-seconds) that `work` took, bounded by MAX_WAIT_S."""
    busy0, t0 = machine_busy_s(), time.monotonic()
    await asyncio.wait_for(work, MAX_WAIT_S)
    return time.monotonic() - t0, machine_busy_s() - busy0


def submit(queue: JobQueue, specs: list[dict[str, object]]) -> list[str]:
    jobs = []
    for start in range(0, len(specs), 500):
        chunk = [SessionSpec.model_validate(s) for s in specs[start : start + 500]]
        jobs.append(queue.enqueue(TENANT, JobRequest(sessions=chunk)))
    return jobs


def wait_done(store: JobStore, jobs: list[str], on_tick: object = None) -> list[JobView]:
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline:
        views = [store.get(TENANT, j) for j in jobs]
        if all(v.status == "completed" for v in views):
            return views
        if callable(on_tick):
            on_tick()
        time.sleep(0.2)
    raise SystemExit("benchmark did not finish in time")


@dataclass
class LightRun:
    sessions: int
    elapsed: float
    busy: float  # machine CPU-seconds
    cpu: float  # the worker process tree's CPU-seconds
    ok: int
    detected: int
    errors: Counter[str]
    protocols: Counter[str]
    roles: dict[str, float]  # CPU-seconds by process role
    levels: Counter[str]  # the isolation each session ran at

    @property
    def per_min(self) -> float:
        return self.sessions / self.elapsed * 60

    @property
    def cpu_per_session(self) -> float:
        return self.busy / self.sessions


def light_run(queue: JobQueue, store: JobStore, worker: WorkerProcess, url: str, sessions: int,
              isolation: str = "context") -> LightRun:  # fmt: skip
    spec: dict[str, object] = {"url": url, "expect": {"analytics": True}, "isolation": isolation}
    wait_done(store, submit(queue, [spec] * 20))  # warm up
    roles0 = cpu_by_role(worker.pid)
    cpu0, busy0, t0 = tree_cpu(worker.pid), machine_busy_s(), time.monotonic()
    views = wait_done(store, submit(queue, [spec] * sessions))
    elapsed, cpu = time.monotonic() - t0, tree_cpu(worker.pid) - cpu0
    roles = {role: v - roles0.get(role, 0.0) for role, v in cpu_by_role(worker.pid).items()}
    ended = [s for v in views for s in v.sessions]
    errors = Counter(f"{s.error.type}: {s.error.message[:80]}" for s in ended if s.error)
    protocols = Counter(s.tls.protocol if s.tls else "plain HTTP" for s in ended)
    return LightRun(sessions, elapsed, machine_busy_s() - busy0, cpu, sum(v.progress.ok for v in views),
                    sum(1 for s in ended if s.analytics), errors, protocols, roles,
                    Counter(str(s.isolation) for s in ended))  # fmt: skip


def print_split(run: LightRun) -> None:
    accounted = sum(max(0.0, v) for v in run.roles.values())
    ranked = sorted(run.roles.items(), key=lambda kv: -kv[1])
    split = ", ".join(f"{role} {max(0.0, v) / run.sessions:.3f}" for role, v in ranked)
    print(f"  CPU-s/session by process: {split}; not attributed (exited unreaped) "
          f"{max(0.0, run.busy - accounted) / run.sessions:.3f}")  # fmt: skip


def warm_tabs(args: argparse.Namespace, queue: JobQueue, store: JobStore, worker: WorkerProcess, url: str,
              light: LightRun, tls_url: str) -> None:  # fmt: skip
    """The light page on warm tabs end to end, and both bare pools from the same run."""
    tab = light_run(queue, store, worker, url, args.tab, isolation="tab")
    print(
        f"warm tabs (isolation tab, end to end: queue, guards, egress proxy, full wipe): {args.tab} sessions "
        f"in {tab.elapsed:.1f} s -> {tab.per_min:.0f} sessions/min; {tab.cpu_per_session:.3f} CPU-s/session, "
        f"whole machine ({tab.busy / tab.elapsed:.2f} of {psutil.cpu_count()} CPUs busy); worker process "
        f"tree {tab.cpu / tab.sessions:.3f}; ok={tab.ok} "
        f"analytics_detected={tab.detected}"
        + (f"; failures {dict(tab.errors)}" if tab.errors else "")
        + f"; ran at {dict(tab.levels)} (target >= 1000/min: {'met' if tab.per_min >= 1000 else 'NOT met'})"
    )
    print_split(tab)
    floor = args.floor or 300
    ctx_s, ctx_busy = asyncio.run(_bare_playwright(url, floor, args.sessions, args.browsers))
    tab_s, tab_busy = asyncio.run(_bare_tabs(url, floor, args.sessions, args.browsers))
    ctx_rate, tab_rate = floor / ctx_s * 60, floor / tab_s * 60
    print(
        f"  bare fresh-context pool: {ctx_rate:.0f} sessions/min, {ctx_busy / floor:.3f} CPU-s/session; "
        f"bare warm-tab pool (CDP wipe): {tab_rate:.0f} sessions/min, {tab_busy / floor:.3f} CPU-s/session"
    )
    print(
        f"  ratios: worker tab / bare warm tabs {tab.per_min / tab_rate:.2f}; worker tab / bare fresh "
        f"contexts {tab.per_min / ctx_rate:.2f}; worker context / bare fresh contexts "
        f"{light.per_min / ctx_rate:.2f}; worker tab / worker context {tab.per_min / light.per_min:.2f}"
    )
    if args.https:
        # Every HTTPS session ends with the TLS step: a browser-wide flush of the TLS session cache.
        tls = light_run(queue, store, worker, tls_url, args.https, isolation="tab")
        print(
            f"  warm tabs over HTTPS ({dict(tls.protocols)}; each session's wipe flushes the browser's TLS "
            f"session cache): {tls.per_min:.0f} sessions/min, {tls.cpu_per_session:.3f} CPU-s/session, "
            f"whole machine; ok={tls.ok} ran at {dict(tls.levels)}"
            + (f"; failures {dict(tls.errors)}" if tls.errors else "")
        )


NEVER = {name: "never" for name in ("screenshot", "har", "trace", "console", "dom")}
ARTIFACT_RUNS = (
    ("none", NEVER),
    ("har: on_failure", {**NEVER, "har": "on_failure"}),
    ("trace: on_failure", {**NEVER, "trace": "on_failure"}),
    ("har + trace: on_failure", {**NEVER, "har": "on_failure", "trace": "on_failure"}),
)


def artifact_cost(args: argparse.Namespace, redis_url: str, site: SampleSite, queue: JobQueue,
                  store: JobStore, logs: Path) -> None:  # fmt: skip
    """The light page with each artifact setting, one worker with a bucket (moto on loopback)."""
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    aws = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    os.environ.update(aws)
    import boto3

    boto3.client("s3").create_bucket(Bucket="bench-artifacts")
    worker = loopback_worker(redis_url, logs / "artifacts.log", sessions_per_worker=args.sessions,
                             browsers_per_worker=args.browsers, lease_s=30,
                             bucket="bench-artifacts")  # fmt: skip
    try:
        worker.wait_log("serving")
        base: float | None = None
        for label, options in ARTIFACT_RUNS:
            spec: dict[str, object] = {"url": site.url("/light.html"), "expect": {"analytics": True},
                                       "artifacts": options}  # fmt: skip
            wait_done(store, submit(queue, [spec] * 10))  # warm up
            busy0, t0 = machine_busy_s(), time.monotonic()
            views = wait_done(store, submit(queue, [spec] * args.artifacts))
            elapsed, busy = time.monotonic() - t0, machine_busy_s() - busy0
            ok = sum(v.progress.ok for v in views)
            cpu = busy / args.artifacts
            base = cpu if base is None else base
            print(f"  artifacts {label}: {args.artifacts / elapsed * 60:.0f} sessions/min, "
                  f"{cpu:.3f} CPU-s/session ({(cpu / base - 1) * 100:+.0f}% vs none), "
                  f"ok={ok}/{args.artifacts}")  # fmt: skip
    finally:
        worker.stop()
        moto.stop()


def run(args: argparse.Namespace) -> None:
    redis_server = RedisServer().start()
    site = SampleSite().start()
    pki = ThrowawayPki()
    tls_site = SampleSite(tls=server_context(pki.leaf("127.0.0.1"))).start()
    settings = Settings(redis_url=redis_server.url)
    client = connect(settings)
    queue, store = JobQueue(client, settings), JobStore(client)
    logs = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    measured: dict[str, Figure] = {}  # for the capacity simulator (docs/capacity/measured-figures.json)
    source = f"make bench-worker ({time.strftime('%Y-%m-%d')}, {psutil.cpu_count()} CPUs)"
    try:
        if args.artifacts_only:
            artifact_cost(args, redis_server.url, site, queue, store, logs)
            return
        # ---- the light page without the hit ledger and Web Vitals, for their cost -------------------
        if args.ledger == "both":
            plain = loopback_worker(redis_server.url, logs / "light-no-ledger.log",
                                    sessions_per_worker=args.sessions, browsers_per_worker=args.browsers,
                                    lease_s=30, analytics_ledger=False)  # fmt: skip
            plain.wait_log("serving")
            off = light_run(queue, store, plain, site.url("/light.html"), args.light)
            plain.stop()
        # ---- light page: throughput and CPU -------------------------------------------------
        worker = loopback_worker(redis_server.url, logs / "light.log", sessions_per_worker=args.sessions,
                                 browsers_per_worker=args.browsers, lease_s=30,
                                 extra_ca_file=str(pki.ca_file))  # fmt: skip
        worker.wait_log("serving")
        light = light_run(queue, store, worker, site.url("/light.html"), args.light)
        print(
            f"light page: {args.light} sessions ({args.sessions} concurrent, {args.browsers} browsers) "
            f"in {light.elapsed:.1f} s -> {light.per_min:.0f} sessions/min; "
            f"{light.cpu_per_session:.3f} CPU-s/session, whole machine ({light.busy / light.elapsed:.2f} of "
            f"{psutil.cpu_count()} CPUs busy; target <= 0.24); worker process tree "
            f"{light.cpu / args.light:.3f}; ok={light.ok} analytics_detected={light.detected}"
            + (f"; failures {dict(light.errors)}" if light.errors else "")
        )
        if args.ledger == "both":
            cost = (1 - light.per_min / off.per_min) * 100
            print(f"  ledger+vitals off (TRAFFIC_TOOL_ANALYTICS_LEDGER=false): {off.per_min:.0f} "
                  f"sessions/min, {off.cpu_per_session:.3f} CPU-s/session; on costs {cost:+.1f}% "
                  "sessions/min (target within 5%)")  # fmt: skip
        print_split(light)
        if args.https:
            tls = light_run(queue, store, worker, tls_site.url("/light.html"), args.https)
            print(
                f"  over HTTPS ({dict(tls.protocols)}, a fresh context per session): {args.https} sessions "
                f"in {tls.elapsed:.1f} s -> {tls.per_min:.0f} sessions/min; {tls.cpu_per_session:.3f} "
                f"CPU-s/session, whole machine ({tls.cpu_per_session - light.cpu_per_session:+.3f} beside "
                f"HTTP: the handshake's cost, client and server); ok={tls.ok} analytics_detected="
                f"{tls.detected}" + (f"; failures {dict(tls.errors)}" if tls.errors else "")
            )

        measured["cpu_s_per_session"] = Figure(
            round(light.cpu_per_session, 3),
            "CPU-s",
            "measured",
            f"{source}: light page, whole machine, {args.sessions} concurrent",
        )
        measured["light_sessions_per_min"] = Figure(
            round(light.per_min), "sessions/min per task", "measured", f"{source}: light page"
        )

        # ---- the floor: the same page through Playwright alone ----------------------------------
        if args.floor:
            elapsed, busy = asyncio.run(
                _bare_playwright(site.url("/light.html"), args.floor, args.sessions, args.browsers)
            )
            bare_rate = args.floor / elapsed * 60
            print(
                f"  floor, Playwright alone (fresh context, no guards, no queue): {args.floor} sessions in "
                f"{elapsed:.1f} s -> {bare_rate:.0f} sessions/min; "
                f"{busy / args.floor:.3f} CPU-s/session, whole machine"
            )
            ratio = light.per_min / bare_rate
            met_ratio = "met" if ratio >= 0.85 else "NOT met"
            met_rate = "met" if light.per_min >= 500 else "NOT met"
            print(
                f"  worker / bare pool: {ratio:.2f} (target >= 0.85: {met_ratio}); "
                f"{light.per_min:.0f} light sessions/min (target >= 500: {met_rate})"
            )

        if args.tab:
            warm_tabs(args, queue, store, worker, site.url("/light.html"), light, tls_site.url("/light.html"))

        # ---- heavy page: bytes with default guards --------------------------------------------
        jobs = submit(queue, [{"url": site.url("/heavy.html"), "expect": {"analytics": True}}] * args.heavy)
        sessions = [s for v in wait_done(store, jobs) for s in v.sessions]
        kb = [s.bytes_in / 1024 for s in sessions]
        beacon = sum(1 for s in sessions if s.analytics)
        jobs = submit(queue, [{"url": site.url("/heavy.html"), "block": []}] * 3)
        raw = statistics.mean(s.bytes_in / 1024 for v in wait_done(store, jobs) for s in v.sessions)
        print(
            f"heavy page: {statistics.mean(kb):.0f} KB/session mean (max {max(kb):.0f}) with default guards, "
            f"beacon detected in {beacon}/{len(sessions)}; unguarded {raw:.0f} KB/session"
        )
        measured["kb_per_session"] = Figure(
            round(statistics.mean(kb)), "KB", "measured", f"{source}: heavy page with the default guards"
        )
        worker.stop()

        # ---- memory at 8 concurrent -----------------------------------------------------------
        worker = loopback_worker(redis_server.url, logs / "memory.log", sessions_per_worker=8,
                                 browsers_per_worker=args.browsers, lease_s=30)  # fmt: skip
        worker.wait_log("serving")
        peak = [0, 0]

        def sample() -> None:
            pss, count = chrome_pss(worker.pid)
            if pss > peak[0]:
                peak[:] = [pss, count]

        hold: dict[str, object] = {"url": site.url("/hold.html"), "steps": [{"action": "wait", "ms": 1500}],
                "expect": {"analytics": True}}  # fmt: skip
        jobs = submit(queue, [hold] * args.memory)
        wait_done(store, jobs, on_tick=sample)
        print(f"memory: peak PSS of all Chromium processes {peak[0] / 2**20:.0f} MB ({peak[1]} processes) "
              f"at 8 concurrent sessions -> {peak[0] / 2**20 / 8:.0f} MB per concurrent session")  # fmt: skip
        measured["mb_per_concurrent_session"] = Figure(
            round(peak[0] / 2**20 / 8),
            "MB",
            "measured",
            f"{source}: peak PSS of all Chromium at 8 concurrent",
        )
        worker.stop()
        if args.figures is not None:
            write_figures(measured, args.figures)
            print(f"figures for the capacity simulator: {args.figures}")

        if args.artifacts:
            print(f"evidence on the light page ({args.sessions} concurrent):")
            artifact_cost(args, redis_server.url, site, queue, store, logs)
    finally:
        site.stop()
        tls_site.stop()
        pki.close()
        client.close()
        redis_server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", type=int, default=600, help="light sessions to time (≤ 5000)")
    parser.add_argument("--floor", type=int, default=300, help="sessions through bare Playwright (0: skip)")
    parser.add_argument("--https", type=int, default=300, help="light sessions over HTTPS (0: skip)")
    parser.add_argument("--heavy", type=int, default=30)
    parser.add_argument("--memory", type=int, default=48)
    parser.add_argument("--tab", type=int, default=600,
                        help="light sessions with isolation tab, and both bare pools (0: skip)")  # fmt: skip
    parser.add_argument("--sessions", type=int, default=4, help="concurrent sessions for the light run")
    parser.add_argument("--browsers", type=int, default=2)
    parser.add_argument("--ledger", choices=("both", "on"), default="both",
                        help="both: also time the light page with the ledger and Web Vitals off")  # fmt: skip
    parser.add_argument(
        "--figures", type=Path, default=default_path(), help="measured-figures JSON to update"
    )
    parser.add_argument("--artifacts", type=int, default=200,
                        help="light sessions per artifact setting (none, har/trace on_failure; 0: skip)",
                        )  # fmt: skip
    parser.add_argument("--artifacts-only", action="store_true", help="only the cost of artifacts")
    args = parser.parse_args()
    args.light, args.https, args.tab = min(args.light, 5000), min(args.https, 5000), min(args.tab, 5000)
    args.artifacts = min(args.artifacts, 2000)
    if args.artifacts_only and not args.artifacts:
        parser.error("--artifacts-only needs --artifacts N > 0")
    run(args)


if __name__ == "__main__":
    main()
