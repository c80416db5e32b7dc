"""The watchdog: a session ends at timeout_s plus a grace, whatever the page does.

The runner bounds each Playwright call by the session's deadline, but a call
can still hang when the renderer or the browser is stuck (an infinite loop in
the page, a renderer that does not answer). The watchdog runs outside the page
— in this process's event loop, which a page cannot block — and, past the
grace, cancels the runner, closes the context with a bound, and when even that
hangs kills the browser's process group (the pool launches a replacement).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from playwright.async_api import BrowserContext

from jobcore.errors import ErrorType
from jobcore.models import SessionResult
from worker.browser_pool import BrowserPool, PooledBrowser
from worker.error_mapping import from_type
from worker.session_runner import SessionRunner, SessionTask, isolation_of
from worker.warm_tabs import WarmTab

log = logging.getLogger(__name__)
# A tab whose session ended so is not wiped for the next: its page may still be stuck or gone.
_TAB_ENDING = frozenset({ErrorType.NAVIGATION_TIMEOUT, ErrorType.SESSION_TIMEOUT, ErrorType.BROWSER_CRASH})


async def run_guarded(
    pool: BrowserPool, runner: SessionRunner, task: SessionTask, grace_s: float
) -> SessionResult:
    """Run one session in a pooled browser, bounded by timeout_s + grace; never raises for page faults."""
    if isolation_of(task.spec) == "tab":
        return await _run_on_tab(pool, runner, task, grace_s)
    started = time.monotonic()
    opened: list[BrowserContext] = []
    async with pool.browser() as pooled:
        runner.user_agent = pool.user_agent
        try:
            result, _hung = await _bounded(
                runner, task, pooled, runner.run(pooled.browser, task, opened), grace_s, started
            )
        finally:
            # Also on cancellation (lease lost, hand-back): no context outlives its session.
            for context in opened:
                if not await close_bounded(context, grace_s):
                    await pool.retire(pooled, "a context did not close in time", kill=True)
    return result


async def _run_on_tab(
    pool: BrowserPool, runner: SessionRunner, task: SessionTask, grace_s: float
) -> SessionResult:
    """The same bounds on a warm tab: a session that hangs, crashes or is cancelled takes its tab with it."""
    started = time.monotonic()
    runner.user_agent = pool.user_agent
    tab = await runner.tabs.acquire(
        pool, task.tenant, task.spec, runner.context_options, runner.init_script()
    )
    log.info("session %s/%d on tab %s (tenant %s, session %d of the tab)",
             task.job_id, task.index, tab.id, task.tenant, tab.sessions + 1)  # fmt: skip
    failed: str | None = "the session was cancelled"
    async with pool.use(tab.pooled) as pooled:
        try:
            result, hung = await _bounded(
                runner, task, pooled, runner.run(pooled.browser, task, [], tab), grace_s, started, tab
            )
            failed = "its session hung" if hung else None
            if failed is None and result.error is not None and result.error.type in _TAB_ENDING:
                failed = f"its session ended with {result.error.type.value}"  # a page that may still hang
        finally:
            await asyncio.shield(runner.tabs.release(tab, failed=failed))
    return result


async def _bounded(
    runner: SessionRunner,
    task: SessionTask,
    pooled: PooledBrowser,
    run: Awaitable[SessionResult],
    grace_s: float,
    started: float,
    tab: WarmTab | None = None,
) -> tuple[SessionResult, bool]:
    """The session's result within timeout_s + grace, and whether it hung: past the bound it is ended
    from outside; when its browser died meanwhile, the result says so."""
    hung = False
    try:
        result = await asyncio.wait_for(run, task.spec.timeout_s + grace_s)
    except TimeoutError:
        hung = True
        where = "" if tab is None else f" on tab {tab.id}"
        log.warning("session %s/%d hung past its deadline%s; ended from outside",
                    task.job_id, task.index, where)  # fmt: skip
        detail = f"{task.spec.timeout_s} s; the page stopped answering and was killed"
        error = from_type(ErrorType.SESSION_TIMEOUT, detail)
        result = runner.failed_result(task, error, time.monotonic() - started, tab)
    if pooled.dead:
        result = _crashed(runner, task, result, time.monotonic() - started)
    return result, hung


def _crashed(
    runner: SessionRunner, task: SessionTask, result: SessionResult, elapsed_s: float
) -> SessionResult:
    if result.error is not None and result.error.type is ErrorType.BROWSER_CRASH:
        return result
    if result.status == "ok":
        return result
    return runner.failed_result(task, from_type(ErrorType.BROWSER_CRASH, "the browser exited"), elapsed_s)


async def close_bounded(context: BrowserContext, timeout_s: float) -> bool:
    """Close a context; False when it did not close within `timeout_s` (the browser is suspect)."""
    try:
        await asyncio.wait_for(context.close(), timeout_s)
    except TimeoutError:
        return False
    except Exception as exc:  # already closed with its browser
        log.debug("context close: %s", exc)
    return True
