"""The worker process: settings → Xvfb (headful) → Playwright → browser pool → queue loop, until SIGTERM.

Exit code 0 after a SIGTERM/SIGINT that was honoured (claims stopped, sessions
finished or handed back, browsers closed); 1 when the worker could not start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid

import redis
from playwright.async_api import async_playwright

from jobcore.artifact_budget import ArtifactBudget
from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from worker import orphan_reaper
from worker.browser_pool import BrowserPool
from worker.egress_proxy import EgressProxy
from worker.log_setup import configure_logging
from worker.loop import WorkerLoop
from worker.screenshots import screenshot_store
from worker.session_runner import SessionRunner
from worker.xvfb import Xvfb

log = logging.getLogger("worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def check_eviction_policy(client: redis.Redis) -> str | None:
    """Warn loudly unless Redis runs with `noeviction`: eviction drops queued jobs without a trace.

    Returns the policy, or None where the server does not say: ElastiCache refuses CONFIG (the
    template's parameter group sets the policy there), and an unreachable Redis is the claim
    loop's business, not a reason to refuse to start.
    """
    try:
        reply: dict[str, str] = client.config_get("maxmemory-policy")  # type: ignore[assignment]
    except redis.ResponseError as exc:  # unknown or renamed command, or NOPERM: the server forbids it
        log.info("maxmemory-policy not readable here (%s); the server's configuration must set noeviction",
                 str(exc).splitlines()[0])  # fmt: skip
        return None
    except redis.RedisError as exc:
        log.warning("maxmemory-policy not checked: Redis unreachable at start (%s)", exc)
        return None
    policy = reply.get("maxmemory-policy")
    if policy is None:
        return None
    if policy != "noeviction":
        log.error(
            "!!! Redis maxmemory-policy is %r, not 'noeviction': under memory pressure Redis will EVICT "
            "queued jobs and results, which are then lost without a trace. Set maxmemory-policy "
            "noeviction (CONFIG SET maxmemory-policy noeviction, or the parameter group) !!!",
            policy,
        )
    return policy


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker_id = new_worker_id()
    client = connect(settings)
    await asyncio.to_thread(check_eviction_policy, client)
    queue = JobQueue(client, settings)
    store = screenshot_store(settings)
    if store is None:
        log.info(
            "no bucket configured (TRAFFIC_TOOL_BUCKET): screenshots are skipped, screenshot_url stays null"
        )
    xvfb = Xvfb() if settings.headful else None
    env = dict(os.environ)
    if xvfb is not None:
        env["DISPLAY"] = await asyncio.to_thread(xvfb.start)
    # Browsers of a worker that died with -9 are orphans now; clear them before adding ours.
    await asyncio.to_thread(orphan_reaper.reap, set())
    try:
        async with async_playwright() as playwright:
            egress = EgressProxy(settings)
            await egress.start()
            pool = BrowserPool(playwright, settings, env=env, launch_proxy=egress.launch_proxy_url)
            await pool.start()
            budget = ArtifactBudget(client, settings.job_ttl_s)
            runner = SessionRunner(settings, egress, store, budget)
            worker = WorkerLoop(settings, queue, pool, runner, worker_id)
            mode = "headful" if settings.headful else "headless"
            log.info(
                "worker %s serving: %d sessions, %d browsers, %s",
                worker_id, settings.sessions_per_worker, settings.browsers_per_worker, mode,
            )  # fmt: skip
            try:
                await worker.run(stop)
            finally:
                await runner.tabs.close()
                await pool.close()
                await egress.close()
            log.info("worker %s stopped: %d sessions completed, %d stale writes refused, %d orphans reaped",
                     worker_id, worker.completed, worker.refused_writes, worker.reaped)  # fmt: skip
    finally:
        if xvfb is not None:
            xvfb.stop()
        client.close()


def main(settings: Settings | None = None) -> int:
    configure_logging()
    try:
        settings = settings or Settings()
    except ValueError as exc:
        log.error("invalid settings: %s", exc)
        return 1
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
    except Exception:
        log.exception("worker failed")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
