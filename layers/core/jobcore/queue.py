"""The job plane's write side: enqueue, claim, renew, complete (fenced write + ack), hand back,
recover stalled entries, cancel.

A job is a hash; each session is one entry in its priority's stream; workers read
through one consumer group. A claimed entry is leased: its idle time in the
group's pending list is the lease, and renewing resets it. The entry id is the
fencing token: recovery moves a session to a new entry, so a worker that lost
its lease can no longer write. Every state change is one Lua script (atomic).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script

from jobcore import keys
from jobcore.constants import PRIORITY_ORDER, DeadLetterReason, Priority, SessionStatus
from jobcore.errors import (
    ErrorType,
    JobNotFoundError,
    QueueFullError,
    QuotaExceededError,
    StoreUnavailableError,
)
from jobcore.lua_scripts import Claimed, EnqueueOutcome, ReapOutcome, load_script, pairs_to_dict
from jobcore.masking import mask_obj
from jobcore.models import JobRequest, SessionResult, SessionSpec
from jobcore.redis_conn import store_errors
from jobcore.settings import Settings
from jobcore.spec_secrets import join_secrets, secret_values, split_secrets
from jobcore.worker_registry import WorkerRegistry


@dataclass(frozen=True)
class Lease:
    """A claimed session: what the worker runs, and the fencing token it writes back with."""

    entry_id: str
    priority: Priority
    job_id: str
    index: int
    tenant: str
    attempt: int
    enqueued_ms: int
    spec: SessionSpec

    @property
    def stream(self) -> str:
        return keys.stream(self.priority, self.tenant)


@dataclass(frozen=True)
class RecoveryReport:
    requeued: int = 0
    dead_lettered: int = 0
    cancelled: int = 0
    skipped: int = 0


DEAD_LETTER_ERRORS: dict[DeadLetterReason, tuple[ErrorType, str]] = {
    DeadLetterReason.WORKER_DIED: (
        ErrorType.BROWSER_CRASH,
        "the worker running this session stopped responding on every attempt; dead-lettered",
    ),
    DeadLetterReason.TIMEOUT: (
        ErrorType.SESSION_TIMEOUT,
        "this session outlived its lease on every attempt though its worker was alive; dead-lettered",
    ),
}


def new_job_id(now: float | None = None) -> str:
    """32 hex digits, time-ordered: 12 of creation time in ms, 20 random (like UUIDv7).
    The archive finds a job's date from its id alone."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:012x}{secrets.token_hex(10)}"


class JobQueue:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.r = client
        self.settings = settings
        self._enqueue = client.register_script(load_script("enqueue"))
        self._claim = client.register_script(load_script("claim"))
        self._renew = client.register_script(load_script("renew"))
        self._complete = client.register_script(load_script("complete"))
        self._handback = client.register_script(load_script("handback"))
        self._reap = client.register_script(load_script("reap"))
        self._cancel = client.register_script(load_script("cancel"))
        self._oldest = client.register_script(load_script("oldest"))
        self.workers = WorkerRegistry(client, settings)
        self._replicas_checked_at = 0.0
        self._replicas = 0

    # ---- submit side --------------------------------------------------------------------------

    def enqueue(self, tenant: str, request: JobRequest, job_id: str | None = None) -> str:
        """Store the job and queue its sessions; returns the job id once the write is durable."""
        job_id = job_id or new_job_id()
        keys.check_tenant(tenant)
        now = time.time()
        sealed = [split_secrets(spec) for spec in request.sessions]
        args: list[Any] = [
            job_id,
            tenant,
            request.priority.value,
            repr(now),
            int(now * 1000),
            len(sealed),
            json.dumps(request.labels),
            self.settings.max_backlog,
            self.settings.tenant_quota,
        ]
        args += [masked for masked, _ in sealed] + [secret for _, secret in sealed]
        job_key, _, spec_key, sec_key = keys.job_keys(job_id)
        script_keys = [
            job_key,
            spec_key,
            sec_key,
            keys.stream(request.priority, tenant),
            keys.tenant_jobs(tenant),
        ]
        with store_errors():
            reply = self._enqueue(keys=script_keys, args=args)
        outcome = EnqueueOutcome(reply[0])
        retry = self.settings.retry_after_s
        if outcome == EnqueueOutcome.FULL:
            raise QueueFullError(f"the queue is full ({reply[1]} sessions waiting); try again later", retry)
        if outcome == EnqueueOutcome.QUOTA:
            raise QuotaExceededError(
                f"tenant {tenant} already has {reply[1]} sessions queued; its quota is "
                f"{self.settings.tenant_quota}",
                retry,
            )
        if outcome == EnqueueOutcome.EXISTS:
            raise StoreUnavailableError(f"job id {job_id} already exists")
        self._wait_durable(tenant, job_id, request.priority)
        return job_id

    def _wait_durable(self, tenant: str, job_id: str, priority: Priority) -> None:
        """WAIT for a replica where one exists; undo the job when none acknowledged it in time."""
        if time.monotonic() - self._replicas_checked_at > 30:
            with store_errors():
                info = self.r.info("replication")
            self._replicas = int(info.get("connected_slaves", 0))
            self._replicas_checked_at = time.monotonic()
        if self._replicas == 0:
            return
        with store_errors():
            acked = int(self.r.wait(1, self.settings.redis_wait_timeout_ms))
        if acked < 1:
            self.cancel(tenant, job_id)
            raise StoreUnavailableError("the job could not be replicated in time; nothing was queued")

    def cancel(self, tenant: str, job_id: str) -> int:
        """Cancel the sessions that have not started; returns how many. One round trip, which is also
        the check that the tenant owns the job (JobNotFoundError when it does not, or the job is gone)."""
        with store_errors():
            count = int(
                self._cancel(
                    keys=[keys.job(job_id)],
                    args=[job_id, tenant, repr(time.time()), self.settings.job_ttl_s],
                )
            )
        if count < 0:
            raise JobNotFoundError(job_id)
        return count

    # ---- worker side --------------------------------------------------------------------------

    def claim(self, consumer: str, count: int = 1) -> list[Lease]:
        """Claim up to `count` sessions, highest priority first."""
        with store_errors():
            claimed = self._claim(
                keys=list(keys.ROTAS),
                args=[
                    consumer, count, repr(time.time()),
                    self.settings.tenant_max_running, self.settings.tenant_max_share,
                ],
            )  # fmt: skip
        leases = []
        for pairs in claimed:
            named = pairs_to_dict(pairs)
            leases.append(
                Lease(
                    entry_id=named[Claimed.ENTRY_ID],
                    priority=Priority(named[Claimed.PRIORITY]),
                    job_id=named[Claimed.JOB_ID],
                    index=int(named[Claimed.INDEX]),
                    tenant=named[Claimed.TENANT],
                    attempt=int(named[Claimed.ATTEMPT]),
                    enqueued_ms=int(named[Claimed.ENQUEUED_MS]),
                    spec=join_secrets(named[Claimed.SPEC], named[Claimed.SECRET]),
                )
            )
        return leases

    def renew(self, consumer: str, leases: list[Lease]) -> list[bool]:
        """Reset the lease of each session; False where the lease was lost (recovered elsewhere)."""
        if not leases:
            return []
        args: list[Any] = [consumer]
        for lease in leases:
            args += [lease.entry_id, lease.job_id, lease.index]
        with store_errors():
            flags = self._renew(keys=[lease.stream for lease in leases], args=args)
        return [bool(int(f)) for f in flags]

    def complete(self, lease: Lease, result: SessionResult) -> bool:
        """Write the session's result and ack it, fenced: False when the lease was lost."""
        if result.status not in (SessionStatus.OK, SessionStatus.FAILED):
            raise ValueError(f"a worker ends a session as ok or failed, not {result.status}")
        # Whatever the worker copied into the result, the lease's secrets do not reach the store.
        secrets_ = secret_values(lease.spec)
        if secrets_:
            data = mask_obj(result.model_dump(mode="json"), secrets_)
            data.update(index=lease.index, attempts=lease.attempt)
            payload = SessionResult.model_validate(data)
        else:
            payload = result.model_copy(update={"index": lease.index, "attempts": lease.attempt})
        status = result.status.value
        return self._fenced(self._complete, lease, status, payload.model_dump_json(), repr(time.time()))

    def hand_back(self, lease: Lease) -> bool:
        """Return a claimed session to the queue without counting the attempt."""
        now = time.time()
        return self._fenced(self._handback, lease, repr(now), int(now * 1000), lease.priority.value)

    def _fenced(self, script: Script, lease: Lease, *args: Any) -> bool:
        """Run a script that acts on the lease's session only while the lease holds; False when it was lost.
        Its KEYS are the session's stream and job; its ARGV the lease, `args`, and the job's TTL."""
        with store_errors():
            done = script(
                keys=[lease.stream, keys.job(lease.job_id)],
                args=[lease.entry_id, lease.job_id, lease.index, *args, self.settings.job_ttl_s],
            )
        return bool(int(done))

    # ---- recovery (the reaper) ----------------------------------------------------------------

    def recover_stalled(self, batch: int = 200) -> RecoveryReport:
        """Re-queue sessions whose lease expired (attempt + 1), or dead-letter them past the limit."""
        counts = dict.fromkeys(ReapOutcome, 0)
        min_idle = self.settings.lease_ms
        with store_errors():
            live = self.workers.live()
            streams: set[str] = self.r.smembers(keys.STREAMS)  # type: ignore[assignment]
            for stream in sorted(streams):
                priority, _ = keys.parse_stream(stream)
                try:
                    pending = self.r.xpending_range(stream, keys.GROUP, "-", "+", batch, idle=min_idle)
                except redis.ResponseError as exc:
                    if "NOGROUP" in str(exc):
                        continue
                    raise
                for item in pending:
                    reason = (
                        DeadLetterReason.TIMEOUT if item["consumer"] in live else DeadLetterReason.WORKER_DIED
                    )
                    error_type, message = DEAD_LETTER_ERRORS[reason]
                    now = time.time()
                    outcome = self._reap(
                        keys=[stream, keys.DEAD_LETTER],
                        args=[
                            item["message_id"],
                            min_idle,
                            self.settings.max_attempts,
                            reason.value,
                            error_type.value,
                            message,
                            repr(now),
                            int(now * 1000),
                            self.settings.job_ttl_s,
                            priority.value,
                        ],
                    )
                    counts[ReapOutcome(outcome)] += 1
        return RecoveryReport(
            requeued=counts[ReapOutcome.REQUEUED],
            dead_lettered=counts[ReapOutcome.DEAD],
            cancelled=counts[ReapOutcome.CANCELLED],
            skipped=counts[ReapOutcome.SKIP],
        )

    def oldest_queued_ms(self) -> dict[Priority, int]:
        """Per priority, the enqueue time (epoch ms) of the oldest unclaimed session (0: none)."""
        with store_errors():
            reply = self._oldest(keys=list(keys.ROTAS))
        return {p: int(ms) for p, ms in zip(PRIORITY_ORDER, reply, strict=True)}
