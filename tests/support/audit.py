"""Jepsen's total-queue check on the job plane: what was accepted must come out, exactly once."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import redis

from jobcore import keys
from jobcore.constants import TERMINAL_SESSION_STATUSES


@dataclass
class Audit:
    accepted: int = 0
    terminal: int = 0
    lost: list[tuple[str, int]] = field(default_factory=list)  # accepted, no terminal result
    statuses: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    inconsistent: list[str] = field(default_factory=list)  # counters that disagree with the results


def audit_jobs(r: redis.Redis, jobs: dict[str, int]) -> Audit:
    """`jobs`: accepted job id → sessions. Reads Redis directly, not through the code under test."""
    report = Audit(accepted=sum(jobs.values()))
    for job_id, total in jobs.items():
        meta: dict[str, str] = r.hgetall(keys.job(job_id))  # type: ignore[assignment]
        results: dict[str, str] = r.hgetall(keys.results(job_id))  # type: ignore[assignment]
        if not meta:
            report.lost += [(job_id, i) for i in range(total)]
            continue
        for i in range(total):
            status = meta.get(f"s:{i}", "")
            if status in TERMINAL_SESSION_STATUSES and str(i) in results:
                report.terminal += 1
                report.statuses[status] += 1
            else:
                report.lost.append((job_id, i))
        ended = sum(int(meta.get(k, 0)) for k in ("ok", "failed", "cancelled"))
        if (
            int(meta["total"]) != total
            or ended != total
            or int(meta.get("queued", 0))
            or int(meta.get("running", 0))
        ):
            report.inconsistent.append(
                f"{job_id}: { ({k: meta.get(k) for k in ('total', 'queued', 'running', 'ok', 'failed')}) }"
            )
    dead = r.xrange(keys.DEAD_LETTER)
    report.dead_lettered = sum(1 for _, f in dead if f.get("j") in jobs)
    return report


# what the worker logs once the queue accepted its result (the fenced write succeeded)
WRITTEN = re.compile(r"session ([0-9a-f]{32})/(\d+) (ok|failed) error=")


def written_results(logs: str) -> Counter[tuple[str, int]]:
    """How many times the queue accepted a worker's result, per (job id, session index), from the logs."""
    return Counter((m[1], int(m[2])) for m in WRITTEN.finditer(logs))
