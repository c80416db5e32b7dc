"""The job plane's read side: job views, a tenant's job list, and fleet figures for /health."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from jobcore import keys
from jobcore.constants import PRIORITY_ORDER, JobStatus, Priority, SessionStatus
from jobcore.errors import InvalidRequestError, JobNotFoundError
from jobcore.keys import JobField
from jobcore.lua_scripts import load_script
from jobcore.models import (
    HealthView,
    HistoryNote,
    JobList,
    JobSummary,
    JobView,
    PriorityDepth,
    Progress,
    SessionResult,
)
from jobcore.redis_conn import store_errors
from jobcore.worker_registry import Beat, parse_workers

# The job hash fields a summary (the job list) is made of: all but the per-session ones.
SUMMARY_FIELDS = (*JobField, *SessionStatus)


class ArchiveReader(Protocol):
    """Where finished jobs are read back from after their Redis record expired (S3 in AWS)."""

    def read(self, tenant: str, job_id: str) -> JobView | None: ...


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def derive_status(meta: dict[str, str]) -> JobStatus:
    """Job status from its counters: the one rule, used by the API, the reaper and the CLI."""
    if meta.get(JobField.CANCEL_REQUESTED):
        return JobStatus.CANCELLED
    if int(meta.get(SessionStatus.QUEUED, 0)) + int(meta.get(SessionStatus.RUNNING, 0)) == 0:
        return JobStatus.COMPLETED
    if meta.get(JobField.STARTED_AT):
        return JobStatus.RUNNING
    return JobStatus.QUEUED


def _progress(meta: dict[str, str]) -> Progress:
    return Progress(
        total=int(meta.get(JobField.TOTAL, 0)), **{s.value: int(meta.get(s, 0)) for s in SessionStatus}
    )


def _summary(job_id: str, meta: dict[str, str]) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "status": derive_status(meta),
        "priority": Priority(meta[JobField.PRIORITY]),
        "created_at": _ts(meta[JobField.CREATED_AT]),
        "finished_at": _ts(meta.get(JobField.FINISHED_AT)),
        "labels": json.loads(meta.get(JobField.LABELS) or "{}"),
        "progress": _progress(meta),
    }


class JobStore:
    def __init__(self, client: redis.Redis, archive: ArchiveReader | None = None) -> None:
        self.r = client
        self.archive = archive
        self._oldest = client.register_script(load_script("oldest"))

    def get(self, tenant: str, job_id: str) -> JobView:
        """The job as its tenant sees it; another tenant's job is not found."""
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.hgetall(keys.job(job_id))
            pipe.hgetall(keys.results(job_id))
            meta, results = pipe.execute()
        if not meta:
            archived = self.archive.read(tenant, job_id) if self.archive is not None else None
            if archived is None:
                raise JobNotFoundError(job_id)
            return archived
        if meta.get(JobField.TENANT) != tenant:
            raise JobNotFoundError(job_id)
        total = int(meta[JobField.TOTAL])
        missing = [i for i in range(total) if str(i) not in results]
        specs: list[str | None] = []
        if missing:
            with store_errors():
                specs = self.r.hmget(keys.specs(job_id), [str(i) for i in missing])  # type: ignore[assignment]
        open_specs = dict(zip(missing, specs, strict=True))
        sessions = []
        for i in range(total):
            if str(i) in results:
                sessions.append(SessionResult.model_validate_json(results[str(i)]))
                continue
            spec = open_specs.get(i)
            sessions.append(
                SessionResult(
                    index=i,
                    url=json.loads(spec)["url"] if spec else "",
                    status=SessionStatus(meta.get(keys.session_status(i), SessionStatus.QUEUED)),
                    attempts=int(meta.get(keys.session_attempts(i), 0)),
                )
            )
        for session in sessions:
            notes = meta.get(keys.session_history(session.index))  # a redrive's note (jobcore.dead_letters)
            if notes:
                session.history = [HistoryNote.model_validate(n) for n in json.loads(notes)]
        return JobView(
            **_summary(job_id, meta), started_at=_ts(meta.get(JobField.STARTED_AT)), sessions=sessions
        )

    def list_jobs(self, tenant: str, cursor: str | None = None, limit: int = 20) -> JobList:
        """The tenant's jobs, newest first; `cursor` continues where the last page ended."""
        upper: str = "+inf"
        if cursor:
            try:
                score = float(cursor)
            except ValueError:
                score = math.nan
            if not math.isfinite(score):  # "nan" and "inf" parse too, and Redis refuses them
                raise InvalidRequestError("cursor: not a cursor this API returned")
            upper = f"({score!r}"
        with store_errors():
            page: list[tuple[str, float]] = self.r.zrevrangebyscore(  # type: ignore[assignment]
                keys.tenant_jobs(tenant), upper, "-inf", start=0, num=limit + 1, withscores=True
            )
            pipe = self.r.pipeline(transaction=False)
            for job_id, _ in page[:limit]:
                pipe.hmget(keys.job(job_id), list(SUMMARY_FIELDS))
            rows = pipe.execute()
        jobs = []
        for (job_id, _), row in zip(page[:limit], rows, strict=True):
            meta = {k: v for k, v in zip(SUMMARY_FIELDS, row, strict=True) if v is not None}
            if meta.get(JobField.TENANT) == tenant:  # expired records drop out of the page
                jobs.append(JobSummary(**_summary(job_id, meta)))
        next_cursor = repr(page[limit - 1][1]) if len(page) > limit else None
        return JobList(jobs=jobs, next_cursor=next_cursor)

    def health(self) -> HealthView:
        """Fleet-wide figures from one pipelined round trip (the oldest waiting session's age included)."""
        with store_errors():
            pipe = self.r.pipeline(transaction=False)
            self.queue_health_reads(pipe)
            replies = pipe.execute()
        return health_from(replies)

    def queue_health_reads(self, pipe: redis.client.Pipeline) -> None:
        """Queue /health's reads on `pipe` (HEALTH_READS replies, for health_from): the fleet view adds
        its own reads to the same round trip."""
        pipe.hgetall(keys.STATS)
        pipe.hgetall(keys.WORKERS)
        pipe.xlen(keys.DEAD_LETTER)
        pipe.time()
        self._oldest(keys=list(keys.ROTAS), client=pipe)


HEALTH_READS = 5  # replies queue_health_reads adds: stats, workers, dead letters, server time, oldest


def health_from(replies: list[Any]) -> HealthView:
    stats, workers_raw, dead, (now_s, now_us), oldest = replies[:HEALTH_READS]
    workers = parse_workers(workers_raw, time.time())
    depth = {p.value: max(0, int(stats.get(keys.stats_backlog(p.value), 0))) for p in PRIORITY_ORDER}
    capacity = sum(int(w.get(Beat.CAPACITY, 0)) for w in workers.values())
    backlog = sum(depth.values())
    status = "degraded" if backlog > 0 and not workers else "ok"
    # Entry ids start with Redis's clock at XADD (enqueue or re-queue): the age needs no field.
    stamps = [int(ms) for ms in oldest if int(ms) > 0]
    now_ms = int(now_s) * 1000 + int(now_us) // 1000
    return HealthView(
        status=status,
        queue_depth=backlog,
        queue_depth_by_priority=PriorityDepth(**depth),
        running_sessions=max(0, int(stats.get(keys.STATS_RUNNING, 0))),
        workers=len(workers),
        capacity=capacity,
        dead_letters=int(dead),
        oldest_queued_age_s=max(0, now_ms - min(stamps)) / 1000 if stamps else 0.0,
    )
