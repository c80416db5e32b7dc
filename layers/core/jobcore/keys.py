"""Every Redis key name, in one place.

All keys carry the hash tag `{tt}` so the whole job plane hashes to one slot:
the Lua scripts touch several keys at once and stay valid on a cluster.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from jobcore.constants import PRIORITY_ORDER, Priority

PREFIX: Final = "tt:{tt}:"
GROUP: Final = "workers"

STATS: Final = PREFIX + "stats"  # hash: STATS_BACKLOG, stats_backlog(priority), STATS_RUNNING
TENANT_QUEUED: Final = PREFIX + "tenant-queued"  # hash: tenant -> queued sessions
FINISHED: Final = PREFIX + "finished"  # zset: job id -> finished_at (archiver's work list)
DEAD_LETTER: Final = PREFIX + "dlq"  # stream of dead-lettered sessions with the reason
WORKERS: Final = PREFIX + "workers"  # hash: worker id -> heartbeat JSON
IDEMPOTENCY_PREFIX: Final = PREFIX + "idem"

_TENANT_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_STREAM_PREFIX: Final = PREFIX + "q:"


def stream(priority: Priority | str, tenant: str) -> str:
    """One stream per priority and tenant: claiming takes tenants in turn within a priority."""
    return stream_name(Priority(priority).value, check_tenant(tenant))


def stream_name(priority: str, tenant: str) -> str:
    """stream() without the checks: the form the Lua scripts build a stream's name by."""
    return f"{_STREAM_PREFIX}{priority}:{tenant}"


def parse_stream(key: str) -> tuple[Priority, str]:
    """(priority, tenant) of a stream key."""
    priority, _, tenant = key.removeprefix(_STREAM_PREFIX).partition(":")
    return Priority(priority), tenant


def rota(priority: Priority | str) -> str:
    """List: the tenants with sessions waiting at this priority, in the order they are served."""
    return rota_name(Priority(priority).value)


def rota_name(priority: str) -> str:
    return f"{PREFIX}rota:{priority}"


ROTAS: Final = tuple(rota(p) for p in PRIORITY_ORDER)
STREAMS: Final = PREFIX + "streams"  # set: every stream key ever used (the reaper scans their pending lists)
TENANT_RUNNING: Final = PREFIX + "tenant-running"  # hash: tenant -> sessions running


def job(job_id: str) -> str:
    """Hash: the JobField fields, a counter per SessionStatus (named by its value), and per session the
    session_* fields below."""
    return f"{PREFIX}job:{job_id}"


class JobField(StrEnum):
    """The job hash's own fields."""

    TENANT = "tenant"
    PRIORITY = "priority"
    CREATED_AT = "created_at"
    LABELS = "labels"
    TOTAL = "total"  # sessions
    STARTED_AT = "started_at"  # the first claim
    FINISHED_AT = "finished_at"  # the last session's end
    CANCEL_REQUESTED = "cancel_requested"


def session_status(index: int | str) -> str:
    """Job hash field: the session's SessionStatus."""
    return f"s:{index}"


def session_entry(index: int | str) -> str:
    """Job hash field: the id of the stream entry the session lives in (its fencing token)."""
    return f"e:{index}"


def session_attempts(index: int | str) -> str:
    """Job hash field: the attempts the session has been claimed for."""
    return f"a:{index}"


def session_history(index: int | str) -> str:
    """Job hash field: the session's history notes (a JSON list, written by a redrive)."""
    return f"h:{index}"


STATS_BACKLOG: Final = "backlog"  # STATS field: sessions waiting, all priorities
STATS_RUNNING: Final = "running"  # STATS field: sessions running


def stats_backlog(priority: str) -> str:
    """STATS field: sessions waiting at one priority."""
    return f"{STATS_BACKLOG}:{priority}"


class EntryField(StrEnum):
    """The fields of a queue stream entry, and of a dead-letter entry (which adds the last three)."""

    JOB = "j"
    INDEX = "i"
    TENANT = "t"
    ENQUEUED_MS = "q"
    REASON = "reason"
    ATTEMPTS = "attempts"
    AT = "at"


def results(job_id: str) -> str:
    """Hash: session index -> SessionResult JSON, once the session has ended."""
    return f"{PREFIX}res:{job_id}"


def specs(job_id: str) -> str:
    """Hash: session index -> SessionSpec JSON with secrets masked."""
    return f"{PREFIX}spec:{job_id}"


def secrets(job_id: str) -> str:
    """Hash: session index -> the secrets masked out of the spec; deleted when the job ends."""
    return f"{PREFIX}sec:{job_id}"


def job_keys(job_id: str) -> tuple[str, str, str, str]:
    return job(job_id), results(job_id), specs(job_id), secrets(job_id)


def artifact_bytes(job_id: str) -> str:
    """Integer: artifact bytes a job has stored so far (its per-job cap)."""
    return f"{PREFIX}artbytes:{job_id}"


def tenant_jobs(tenant: str) -> str:
    """Sorted set: the tenant's job ids by creation time."""
    return tenant_jobs_name(check_tenant(tenant))


def tenant_jobs_name(tenant: str) -> str:
    return f"{PREFIX}tenant:{tenant}:jobs"


def check_tenant(tenant: str) -> str:
    if not _TENANT_RE.match(tenant):
        raise ValueError(f"tenant id {tenant!r} must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
    return tenant


SCALER_STATE: Final = PREFIX + "scaler"  # hash: the scaler's memory between runs (ScalerState)
SCALER_LOCK: Final = PREFIX + "scaler-lock"  # one scaler decision at a time

# Observability: what `traffic-tool top` and the local /metrics read besides the job plane.
TELEMETRY: Final = PREFIX + "telemetry"  # hash: running totals and gauges, field = metric name[:label]
RECENT_SESSIONS: Final = PREFIX + "recent-sessions"  # list, newest first: "duration_ms queue_wait_ms bytes"


def telemetry_minute(minute: int) -> str:
    """Hash: the counters' increments in one minute (epoch minute), kept a few minutes: GET /fleet's
    "last minutes" figures."""
    return f"{PREFIX}telemetry:m:{minute}"


# Recurring checks and webhooks.
CHECK_PENDING: Final = PREFIX + "check-pending"  # hash: job id -> pending-run JSON, until settled
CHECK_SCHEDULES: Final = PREFIX + "check-due"  # zset: check id -> next due (epoch); the local scheduler's
CHECK_SCHEDULE_EXPR: Final = PREFIX + "check-expr"  # hash: check id -> "tenant expression" (local only)
DELIVERIES_DUE: Final = PREFIX + "deliveries-due"  # zset: delivery id -> when its next attempt is due
JOBS_NOTIFIED: Final = PREFIX + "jobs-notified"  # string: FINISHED score up to which job.completed was sent


def check(check_id: str) -> str:
    """String: the check's JSON (definition, state, open incident)."""
    return f"{PREFIX}check:{check_id}"


def check_runs(check_id: str) -> str:
    """List: the check's last runs (JSON), newest first."""
    return f"{PREFIX}check-runs:{check_id}"


def tenant_checks(tenant: str) -> str:
    """Sorted set: the tenant's check ids by creation time."""
    return f"{PREFIX}tenant:{check_tenant(tenant)}:checks"


def webhook(webhook_id: str) -> str:
    """String: the webhook's JSON, its signing secret included (never returned after creation)."""
    return f"{PREFIX}webhook:{webhook_id}"


def tenant_webhooks(tenant: str) -> str:
    """Sorted set: the tenant's webhook ids by creation time."""
    return f"{PREFIX}tenant:{check_tenant(tenant)}:webhooks"


def delivery(delivery_id: str) -> str:
    """String: one delivery's JSON (event, body, attempts, status, last error)."""
    return f"{PREFIX}delivery:{delivery_id}"


def webhook_deliveries(webhook_id: str) -> str:
    """List: the webhook's recent delivery ids, newest first."""
    return f"{PREFIX}webhook-deliveries:{webhook_id}"


def check_run_marker(job_id: str) -> str:
    """String with a TTL: this job was recorded as a check run (a repeated dispatch records nothing)."""
    return f"{PREFIX}check-run:{job_id}"
