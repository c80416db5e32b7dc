"""Load benchmark of the whole local stack (`make bench-load`).

Prints figures, asserts nothing. The local stack (redis-server, moto, the API behind the local
adapter, the schedules, and as many worker processes as this machine has cores) runs the sample
site's light page: `--sessions` sessions (1,000 by default) from 10 tenants, submitted through the
HTTP API in jobs of 50. It prints sessions/min, p50/p95 queue wait and session duration, KB per
session, errors by type, and the peak memory of the stack's processes (sum of PSS: this process,
which hosts the API and moto, redis-server, the workers, their Playwright drivers and Chromium).

Every load loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
for sub in ("", "layers/core", "worker", "cli"):
    sys.path.insert(0, str(ROOT / sub))

from traffic_tool.local.redis_process import free_port  # noqa: E402
from traffic_tool.local.sample_site import SampleSite  # noqa: E402
from traffic_tool.local.stack import LocalStack  # noqa: E402
from traffic_tool.local.stack_config import StackConfig  # noqa: E402

TENANTS = 10
JOB_SIZE = 50
MAX_SESSIONS = 20_000
MAX_WAIT_S = 1800.0


def stack_pss(stack: LocalStack) -> int:
    """Sum of PSS (RSS where PSS is not readable) over every process of the stack."""
    roots = [os.getpid()]
    if stack.redis is not None and stack.redis.proc is not None:
        roots.append(stack.redis.proc.pid)
    if stack.fleet is not None:
        roots += [w.proc.pid for w in [*stack.fleet.running, *stack.fleet.stopping]]
    seen: set[int] = set()
    total = 0
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                if proc.pid in seen:
                    continue
                seen.add(proc.pid)
                with contextlib.suppress(psutil.Error):
                    try:
                        total += proc.memory_full_info().pss
                    except (psutil.AccessDenied, AttributeError):
                        total += proc.memory_info().rss
    return total


class PeakMemory(threading.Thread):
    def __init__(self, stack: LocalStack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.peak = max(self.peak, stack_pss(self.stack))


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(args: argparse.Namespace) -> None:
    site = SampleSite().start()
    port = free_port()
    tokens = {f"tenant-{i:02d}": f"bench-token-{i:02d}" for i in range(TENANTS)}
    state = Path(tempfile.mkdtemp(prefix="bench-load-"))
    config = StackConfig(
        project_root=ROOT, state_dir=state, port=port, tokens=",".join(f"{t}={k}" for t, k in tokens.items()),
        min_workers=args.workers, max_workers=args.workers, sessions_per_worker=args.per_worker,
        allow_targets=f"127.0.0.1:{site.port}",
    )  # fmt: skip
    stack = LocalStack(config, say=lambda line: print(f"  stack: {line}"))
    stack.start()
    peak = PeakMemory(stack)
    peak.start()
    api = stack.api_url
    try:
        deadline = time.monotonic() + 120
        while stack.fleet is not None and time.monotonic() < deadline:
            logs = [p.read_text(errors="replace") for p in (state / "logs").glob("*.log")]
            if sum("serving" in text for text in logs) >= args.workers:
                break
            time.sleep(0.5)
        print(f"{args.workers} workers x {args.per_worker} serving; submitting {args.sessions} sessions")

        per_tenant = [
            args.sessions // TENANTS + (1 if i < args.sessions % TENANTS else 0) for i in range(TENANTS)
        ]
        batches: list[tuple[str, int]] = []
        for (_, token), count in zip(tokens.items(), per_tenant, strict=True):
            batches += [(token, min(JOB_SIZE, count - s)) for s in range(0, count, JOB_SIZE)]
        started = time.time()

        def submit(batch: tuple[str, int]) -> tuple[str, str]:
            token, n = batch
            body = {"sessions": [{"url": site.url(f"/light.html?bench={i}")} for i in range(n)]}
            reply = httpx.post(
                f"{api}/jobs", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            reply.raise_for_status()
            return token, str(reply.json()["job_id"])

        with ThreadPoolExecutor(max_workers=TENANTS) as pool:
            jobs = list(pool.map(submit, batches))
        submitted = time.time() - started

        views: dict[str, dict[str, Any]] = {}
        limit = time.monotonic() + MAX_WAIT_S
        with httpx.Client(base_url=api, timeout=60) as c:
            while time.monotonic() < limit and len(views) < len(jobs):
                for token, job in jobs:
                    if job in views:
                        continue
                    view = c.get(f"/jobs/{job}", headers={"Authorization": f"Bearer {token}"}).json()
                    if view["status"] == "completed":
                        views[job] = view
                time.sleep(1.0)
        if len(views) < len(jobs):
            raise SystemExit(
                f"benchmark did not finish in {MAX_WAIT_S:.0f} s ({len(views)}/{len(jobs)} jobs)"
            )
    finally:
        peak.stop.set()
        peak.join(5)
        stack.stop()
        site.stop()

    sessions = [s for v in views.values() for s in v["sessions"]]
    ended = max(v["finished_at"] for v in views.values())
    elapsed = datetime.fromisoformat(ended).timestamp() - started
    waits = [
        s["timings_ms"]["queue_wait"] / 1000
        for s in sessions
        if s["timings_ms"].get("queue_wait") is not None
    ]
    totals = [s["timings_ms"]["total"] / 1000 for s in sessions if s["timings_ms"].get("total") is not None]
    kb = [s["bytes_in"] / 1024 for s in sessions if s["status"] in ("ok", "failed")]
    errors = Counter(s["error"]["type"] for s in sessions if s.get("error"))
    statuses = Counter(s["status"] for s in sessions)
    print(
        f"bench-load: {len(sessions)} sessions from {TENANTS} tenants, {args.workers} workers x "
        f"{args.per_worker} sessions, {os.cpu_count()} cores\n"
        f"  submitted in {submitted:.1f} s; all ended {elapsed:.1f} s after the first submit "
        f"-> {len(sessions) / elapsed * 60:.0f} sessions/min\n"
        f"  queue wait p50 {percentile(waits, 50):.1f} s, p95 {percentile(waits, 95):.1f} s; "
        f"session duration p50 {percentile(totals, 50) * 1000:.0f} ms, "
        f"p95 {percentile(totals, 95) * 1000:.0f} ms\n"
        f"  {statistics.mean(kb):.1f} KB per session (mean), statuses {dict(statuses)}, "
        f"errors by type {dict(errors) or 'none'}\n"
        f"  peak memory of the stack (sum of PSS) {peak.peak / 2**20:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker processes (cores)")
    parser.add_argument("--sessions", type=int, default=1000, help=f"sessions in all (≤ {MAX_SESSIONS})")
    parser.add_argument("--per-worker", type=int, default=2, help="concurrent sessions per worker")
    args = parser.parse_args()
    args.sessions = max(TENANTS, min(args.sessions, MAX_SESSIONS))
    run(args)


if __name__ == "__main__":
    main()
