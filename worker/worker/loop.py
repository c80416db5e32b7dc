"""The worker's queue duties: claim in priority order, renew leases, write results fenced, hand back
on SIGTERM, heartbeat, reap orphans, hold scale-in protection while busy.

All queue semantics are `jobcore.queue`'s; this module only decides when to call
it. Redis calls run in a thread so a slow Redis never stalls the event loop that
drives the browsers and the watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

from jobcore import metric_names
from jobcore.errors import StoreUnavailableError
from jobcore.fleet_totals import FleetTotals
from jobcore.models import SessionResult
from jobcore.queue import JobQueue, Lease
from jobcore.settings import Settings
from jobcore.worker_registry import WorkerRegistry
from worker.browser_pool import BrowserPool
from worker.cpu_share import CpuShare
from worker.healthcheck import touch_heartbeat
from worker.log_setup import bind_job
from worker.protection import ScaleInProtection
from worker.result_cost import with_cost
from worker.session_metrics import FLUSH_INTERVAL_S, SessionMetrics
from worker.session_runner import SessionRunner, SessionTask
from worker.watchdog import run_guarded

log = logging.getLogger(__name__)

_MARGIN_S = 2.0  # of the stop timeout, kept for handing back and closing browsers
# Redis unreachable: claims back off exponentially (full jitter, so a fleet does not reconnect in
# lockstep) up to this cap, which bounds how long a worker stays idle after Redis is back.
BACKOFF_CAP_S = 4.0
# A result that could not be written is retried this often (with jitter) while its lease lasts.
COMPLETE_RETRY_CAP_S = 1.0


class Backoff:
    """Capped exponential backoff with full jitter; `reset` after a success."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self.failing_since: float | None = None

    def next_delay(self) -> float:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.failures += 1
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** min(self.failures, 30)))

    def reset(self) -> float | None:
        """Forget the failures; returns how long they lasted (None when there were none)."""
        lasted = None if self.failing_since is None else time.monotonic() - self.failing_since
        self.failures = 0
        self.failing_since = None
        return lasted


@dataclass(eq=False)
class InFlight:
    lease: Lease
    task: asyncio.Task[None] | None = None
    lost: bool = False
    handing_back: bool = False
    started: float = field(default_factory=time.monotonic)
    renewed: float = field(default_factory=time.monotonic)  # claim or last renewal Redis confirmed
    completing: bool = False  # its result is being written: a renewal may find the lease already released


class WorkerLoop:
    def __init__(self, settings: Settings, queue: JobQueue, pool: BrowserPool, runner: SessionRunner,
                 worker_id: str, protection: ScaleInProtection | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.queue = queue
        self.pool = pool
        self.runner = runner
        self.worker_id = worker_id
        self.protection = protection or ScaleInProtection()
        self.capacity = settings.sessions_per_worker
        self.inflight: dict[str, InFlight] = {}
        self.completed = 0
        self.refused_writes = 0
        self.reaped = 0
        self.metrics = SessionMetrics()
        self.totals = FleetTotals(queue.r)
        self.registry = WorkerRegistry(queue.r, settings)
        self.cpu = CpuShare()
        self._slot_freed = asyncio.Event()
        self._backoff = Backoff(settings.claim_poll_s, BACKOFF_CAP_S)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then finish or hand back within the stop timeout."""
        await self._heartbeat_once()
        helpers = [
            asyncio.create_task(self._every(self.settings.lease_s / 3, self._renew)),
            asyncio.create_task(self._every(self.settings.heartbeat_s, self._heartbeat_once)),
            asyncio.create_task(self._every(self.settings.orphan_reaper_interval_s, self._reap_orphans)),
            asyncio.create_task(self._every(FLUSH_INTERVAL_S, self._flush_metrics)),
        ]
        try:
            await self._claim_until(stop)
            log.info("stop requested: no more claims; %d sessions in flight", len(self.inflight))
            await self._drain(time.monotonic() + max(0.5, self.settings.stop_timeout_s - _MARGIN_S))
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self.metrics.flush()
            with contextlib.suppress(StoreUnavailableError):
                await asyncio.to_thread(self.registry.retire, self.worker_id)
            await self.protection.update(False)

    # ---- claiming -------------------------------------------------------------------------------

    async def _claim_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            free = self.capacity - len(self.inflight)
            if free <= 0:
                self._slot_freed.clear()
                await _wait_any(stop, self._slot_freed, timeout=self.settings.claim_poll_s)
                continue
            # Protect before claiming: a scale-in between claim and protect would only cost a hand-back.
            await self.protection.update(True)
            try:
                leases = await asyncio.to_thread(self.queue.claim, self.worker_id, free)
            except StoreUnavailableError as exc:
                # Sessions in flight keep running; only claiming waits for Redis to come back.
                delay = self._backoff.next_delay()
                log.warning("claim failed (%s); retrying in %.2f s (failure %d, %d sessions in flight)",
                            exc, delay, self._backoff.failures, len(self.inflight))  # fmt: skip
                if not self.inflight:
                    await self.protection.update(False)
                await _wait_any(stop, timeout=delay)
                continue
            lasted = self._backoff.reset()
            if lasted is not None:
                log.warning("job store reachable again: claiming resumed after %.1f s", lasted)
            self.metrics.started(len(leases))
            for lease in leases:
                self._start(lease)
            if not leases:
                if not self.inflight:
                    await self.protection.update(False)
                await _wait_any(stop, self._slot_freed, timeout=self.settings.claim_poll_s)
                self._slot_freed.clear()

    def _start(self, lease: Lease) -> None:
        item = InFlight(lease)
        self.inflight[lease.entry_id] = item
        item.task = asyncio.create_task(self._serve(item), name=f"session {lease.job_id}/{lease.index}")

    async def _serve(self, item: InFlight) -> None:
        lease = item.lease
        bind_job(lease.job_id)  # this task's log lines carry the job id as correlation id
        task = SessionTask(
            lease.spec, lease.tenant, lease.job_id, lease.index, lease.attempt, lease.enqueued_ms
        )
        self.cpu.begin(lease.entry_id)
        try:
            result = await run_guarded(self.pool, self.runner, task, self.settings.session_grace_s)
            result = with_cost(result, self.cpu.end(lease.entry_id), self.settings)
            if not item.lost and not item.handing_back:
                item.completing = True
                await self._complete(item, result)
        except asyncio.CancelledError:
            pass  # lease lost or handed back: someone else owns the session now
        except Exception:
            log.exception("session %s/%d: worker error; left for recovery", lease.job_id, lease.index)
        finally:
            self.cpu.end(lease.entry_id)  # a session that did not finish leaves the sharing too
            self.inflight.pop(lease.entry_id, None)
            self._slot_freed.set()

    async def _complete(self, item: InFlight, result: SessionResult) -> None:
        lease = item.lease
        retry = Backoff(0.05, COMPLETE_RETRY_CAP_S)
        while True:
            try:
                written = await asyncio.to_thread(self._complete_and_count, lease, result)
                break
            except StoreUnavailableError as exc:
                # Keep the result while the lease lasts (the renewer extends it once Redis is back);
                # past it the reaper re-queues the session, which then ends exactly once elsewhere.
                left = item.renewed + self.settings.lease_s - time.monotonic()
                if item.lost or left <= 0:
                    log.error("session %s/%d: result not written before the lease ran out (%s)",
                              lease.job_id, lease.index, exc)  # fmt: skip
                    return
                delay = min(retry.next_delay(), left)
                log.warning("session %s/%d: result not written yet (%s); retrying in %.2f s",
                            lease.job_id, lease.index, exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
        if written:
            self.completed += 1
            self.metrics.ended(result, lease.tenant)
            err = result.error.type.value if result.error else "-"
            log.info(
                "session %s/%d %s error=%s bytes=%d total_ms=%s attempt=%d",
                lease.job_id, lease.index, result.status.value, err, result.bytes_in, result.timings_ms.total,
                lease.attempt,
            )  # fmt: skip
        else:
            self.refused_writes += 1
            log.warning(
                "session %s/%d: lease lost; stale result refused by the queue", lease.job_id, lease.index
            )

    def _complete_and_count(self, lease: Lease, result: SessionResult) -> bool:
        """In a thread: the fenced write, then (only when it counted) the totals `top` shows."""
        written = self.queue.complete(lease, result)
        if written:
            with contextlib.suppress(StoreUnavailableError):  # a lost count, never a lost result
                self.totals.session_ended(result)
        return written

    # ---- leases, heartbeat, orphan reaper -----------------------------------------------------------

    async def _renew(self) -> None:
        items = [i for i in self.inflight.values() if not i.lost]
        if not items:
            return
        asked = time.monotonic()
        flags = await asyncio.to_thread(self.queue.renew, self.worker_id, [i.lease for i in items])
        for item, kept in zip(items, flags, strict=True):
            if kept:
                item.renewed = asked
            elif item.completing:
                # Its result write may have released the lease while this renewal was on its way;
                # the fenced write itself says whether the lease was still held, so nothing to stop.
                continue
            else:
                item.lost = True
                log.warning("session %s/%d: lease lost (recovered elsewhere); stopping it",
                            item.lease.job_id, item.lease.index)  # fmt: skip
                if item.task is not None:
                    item.task.cancel()

    async def _heartbeat_once(self) -> None:
        # Three missed beats and the worker counts as dead. Kept shorter than a lease (5 s beats, 30 s
        # leases by default) so a dead worker leaves the registry before its leases expire, and the
        # reaper names the reason of its sessions' recovery `worker_died`, not `timeout`.
        ttl = 3 * self.settings.heartbeat_s
        beat = (self.worker_id, len(self.inflight), self.capacity, ttl)
        await asyncio.to_thread(self.registry.heartbeat, *beat)
        if self.settings.heartbeat_file:
            touch_heartbeat(self.settings.heartbeat_file)
        if self.inflight:
            await self.protection.update(True)  # refreshes the expiry while busy

    async def _reap_orphans(self) -> None:
        count = await self.pool.reap_orphans()
        self.reaped += count
        if count:
            self.metrics.reaped(count)
            await asyncio.to_thread(self.totals.count, metric_names.ZOMBIES_REAPED, count)

    async def _flush_metrics(self) -> None:
        self.metrics.flush()

    async def _every(self, interval_s: float, action: object) -> None:
        assert callable(action)
        while True:
            await asyncio.sleep(interval_s)
            try:
                await action()
            except StoreUnavailableError as exc:
                log.warning("%s failed: %s", getattr(action, "__name__", "task"), exc)
            except Exception:
                log.exception("%s failed", getattr(action, "__name__", "task"))

    # ---- shutdown -------------------------------------------------------------------------------

    async def _drain(self, deadline: float) -> None:
        """Let in-flight sessions finish until `deadline`; hand the rest back (not counted as attempts)."""
        while self.inflight and time.monotonic() < deadline:
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._slot_freed.wait(), timeout=max(0.05, deadline - time.monotonic())
                )
        leftovers = list(self.inflight.values())
        for item in leftovers:
            item.handing_back = True
            if item.task is not None:
                item.task.cancel()
        await asyncio.gather(*(i.task for i in leftovers if i.task is not None), return_exceptions=True)
        for item in leftovers:
            if item.lost:
                continue
            try:
                handed = await asyncio.to_thread(self.queue.hand_back, item.lease)
            except StoreUnavailableError as exc:
                log.error("hand back of %s/%d failed (%s); the reaper will recover it",
                          item.lease.job_id, item.lease.index, exc)  # fmt: skip
                continue
            log.info("session %s/%d handed back (%s)", item.lease.job_id, item.lease.index,
                     "ok" if handed else "lease already lost")  # fmt: skip


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
