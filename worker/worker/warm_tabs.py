"""Warm tabs (isolation "tab"): one long-lived page per slot, serving ONE tenant, wiped between sessions.

A fresh context costs a new renderer process per session; a warm tab keeps its
context, page and renderer, and wipes the visitor state between two sessions,
before the next navigation (`WIPE_STEPS`, in order). Sessions of one tenant may
share a tab; a tab is never handed to another tenant: its context is closed and
a new one made (a new tab id). A tab whose wipe fails at any step, whose page
crashed, whose browser is retiring, whose session hung, or that has served
`limits.MAX_SESSIONS_PER_TAB` sessions is closed and replaced.

The context options a tab cannot change (locale) are part of its identity: a
session with another locale gets a new tab. What the wipe covers and what it
cannot (README, "Warm tabs") is proven by the probe suite
(tests/e2e/test_warm_tab_probes.py), which switches each step off in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from playwright.async_api import BrowserContext, CDPSession, Page, ViewportSize

from jobcore import limits
from jobcore.models import SessionSpec
from worker.browser_pool import BrowserPool, PooledBrowser
from worker.egress_proxy import EgressProxy, EgressSession, StopFn
from worker.listeners import Listeners
from worker.upstream import Upstream

log = logging.getLogger(__name__)

# The wipe, in order. "connections" (the egress slot's sockets cut, its DNS answers dropped) happens when
# a session ends and again when the next one is bound; "emulation" sets the session's own viewport.
WIPE_STEPS: Final = (
    "pages", "document", "window_name", "history", "cookies", "tls_sessions", "storage", "http_cache",
    "permissions", "emulation", "connections",
)  # fmt: skip
_IN_ORDER: Final = frozenset({"pages", "document", "window_name", "history"})
_STEP_TIMEOUT_S: Final = 5.0
_PAGE_EVENTS: Final = ("console", "response")  # the runner's and the evidence recorder's, every session
_CLOSE_TIMEOUT_S: Final = 5.0
_ids = itertools.count(1)

OptionsFn = Callable[[SessionSpec, EgressSession], dict[str, Any]]


class TabWipeError(Exception):
    """A wipe step failed: the tab is closed and the session gets a new one."""


@dataclass(eq=False)
class WarmTab:
    id: str
    tenant: str
    locale: str | None
    pooled: PooledBrowser
    context: BrowserContext
    page: Page
    cdp: CDPSession
    slot: EgressSession
    sessions: int = 0
    busy: bool = False
    broken: str | None = None  # why it must be replaced
    fetch_patterns: object = None  # the guards' interception patterns enabled on `cdp` now

    def unusable(self) -> str | None:
        if self.broken:
            return self.broken
        if self.pooled.retiring or self.pooled.dead:
            return "its browser is retiring"
        if self.page.is_closed():
            return "its page closed"
        if self.sessions >= limits.MAX_SESSIONS_PER_TAB:
            return f"served {self.sessions} sessions"
        return None


class WarmTabs:
    """The worker's warm tabs: at most one per slot (`sessions_per_worker`)."""

    def __init__(
        self, capacity: int, egress: EgressProxy, *, wipe_skipped_for_tests: frozenset[str] = frozenset(),
        tenants_shared_for_tests: bool = False, context_events: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.capacity = capacity
        self.egress = egress
        # Events every session listens to: held for the tab's life, so that adding and removing a
        # session's listeners does not toggle Playwright's event subscriptions twice per session.
        self.context_events = context_events
        self.tabs: list[WarmTab] = []
        # TESTS ONLY: the probe suite switches wipe steps off (and tenant separation) to show each probe
        # can see the leak its step prevents. The worker never sets these.
        unknown = wipe_skipped_for_tests - set(WIPE_STEPS)
        if unknown:
            raise ValueError(f"unknown wipe steps: {sorted(unknown)}")
        self.skipped = wipe_skipped_for_tests
        self.tenants_shared = tenants_shared_for_tests
        if self.skipped or self.tenants_shared:
            log.warning("WARM TAB WIPE WEAKENED FOR TESTS: skipped %s, tenants shared %s",
                        sorted(self.skipped), self.tenants_shared)  # fmt: skip

    async def acquire(
        self, pool: BrowserPool, tenant: str, spec: SessionSpec, options: OptionsFn, init_script: str
    ) -> WarmTab:
        """A wiped tab of this tenant (and locale) for one session, or a new one."""
        for tab in list(self.tabs):
            if tab.busy or tab.locale != spec.locale or (tab.tenant != tenant and not self.tenants_shared):
                continue
            reason = tab.unusable()
            if reason is not None:
                await self._close(tab, reason)
                continue
            tab.busy = True
            try:
                await self._wipe(tab, spec)
            except Exception as exc:
                await self._close(tab, f"wipe failed: {exc}")
                continue
            return tab
        idle = [t for t in self.tabs if not t.busy]
        while len(self.tabs) >= self.capacity and idle:
            await self._close(idle.pop(0), "its slot goes to another tenant or locale")
        return await self._open(pool, tenant, spec, options, init_script)

    def bind(
        self, tab: WarmTab, *, max_bytes: int, upstream: Upstream | None, on_stop: StopFn | None
    ) -> None:
        """The tab's egress slot serves this session now (fresh counts, no DNS answer, no connection)."""
        tab.slot.rebind(max_bytes=max_bytes, upstream=upstream, on_stop=on_stop,
                        cut="connections" not in self.skipped)  # fmt: skip

    async def release(self, tab: WarmTab, *, failed: str | None = None) -> None:
        """After the session: the page leaves for about:blank and the slot is parked (or the tab closed)."""
        tab.sessions += 1
        if failed is not None and tab.broken is None:
            tab.broken = failed
        if tab.broken is None and "document" not in self.skipped:
            try:
                await asyncio.wait_for(tab.page.goto("about:blank"), _STEP_TIMEOUT_S)
            except Exception as exc:
                tab.broken = f"could not leave the page: {exc}"
        tab.slot.park(cut="connections" not in self.skipped)
        reason = tab.unusable()
        if reason is not None:
            await self._close(tab, reason)
        tab.busy = False

    async def close(self) -> None:
        for tab in list(self.tabs):
            await self._close(tab, "the worker stops")

    # ---- a tab's life ---------------------------------------------------------------------------

    async def _open(
        self, pool: BrowserPool, tenant: str, spec: SessionSpec, options: OptionsFn, init_script: str
    ) -> WarmTab:
        pooled = await pool.pick()
        slot = await self.egress.open_session(max_bytes=0)
        slot.park()
        try:
            context = await pooled.browser.new_context(**options(spec, slot))
        except BaseException:
            slot.close()
            raise
        try:
            await context.add_init_script(init_script)  # the same for every session of the worker
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
        except BaseException:
            await _close_context(context)
            slot.close()
            raise
        tab = WarmTab(f"{os.getpid()}-{next(_ids)}", tenant, spec.locale, pooled, context, page, cdp, slot,
                      busy=True)  # fmt: skip
        page.on("crash", lambda _p: _mark(tab, "its renderer crashed"))
        listeners = Listeners()  # never cleared: they live as long as the tab
        for event in _PAGE_EVENTS:
            listeners.on(page, event, _ignore)
        for event in self.context_events:
            listeners.on(context, event, _ignore)
        self.tabs.append(tab)
        log.info("tab %s opened for tenant %s", tab.id, tenant)
        return tab

    async def _close(self, tab: WarmTab, reason: str) -> None:
        if tab in self.tabs:
            self.tabs.remove(tab)
        tab.slot.close()
        log.info("tab %s closed after %d sessions: %s", tab.id, tab.sessions, reason)
        await _close_context(tab.context)

    async def _wipe(self, tab: WarmTab, spec: SessionSpec) -> None:
        """The document goes first (nothing of the last page runs while the rest is cleared); the
        other steps are independent, so they run at once. Any failure fails the wipe."""
        steps = [name for name in WIPE_STEPS if name not in self.skipped]
        first = [name for name in steps if name in _IN_ORDER]
        for name in first:
            await self._bounded(name, tab, spec)
        results = await asyncio.gather(
            *(self._bounded(name, tab, spec) for name in steps if name not in _IN_ORDER),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _bounded(self, name: str, tab: WarmTab, spec: SessionSpec) -> None:
        try:
            await asyncio.wait_for(self._step(name, tab, spec), _STEP_TIMEOUT_S)
        except Exception as exc:
            raise TabWipeError(f"{name}: {exc}") from exc

    async def _step(self, name: str, tab: WarmTab, spec: SessionSpec) -> None:
        page, cdp, context = tab.page, tab.cdp, tab.context
        if name == "pages":  # popups are closed as they open; anything left goes now
            for other in context.pages:
                if other is not page:
                    await other.close()
        elif name == "document" and page.url != "about:blank":
            await page.goto("about:blank")
        elif name == "window_name":
            await page.evaluate("window.name = ''")
        elif name == "history":  # also drops the back/forward cache's entries: nothing to go back to
            await cdp.send("Page.resetNavigationHistory")
        elif name == "cookies":  # the context's own (Storage.clearCookies by context id), partitioned too
            await context.clear_cookies()
        elif name == "tls_sessions" and tab.slot.tunnels:
            # Chromium resumes a TLS session across a cut connection (the server would see the same
            # session). No CDP call clears one context's TLS session cache; a critical memory-pressure
            # signal flushes the browser's (every tab's: they pay a full handshake next, no more). Only
            # after a session that opened a tunnel: plain-HTTP sessions have nothing to flush.
            await cdp.send("Memory.simulatePressureNotification", {"level": "critical"})
        elif name == "storage":
            for origin in sorted(tab.slot.take_origins()):
                await cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
        elif name == "http_cache":
            await cdp.send("Network.clearBrowserCache")
        elif name == "permissions":  # grants; a geolocation override only the worker could set (it sets none)
            await context.clear_permissions()
        elif name == "emulation":  # a page cannot change its own emulation: only ours to reset
            viewport: ViewportSize = {"width": spec.viewport.width, "height": spec.viewport.height}
            if page.viewport_size != viewport:
                await page.set_viewport_size(viewport)
        elif name == "connections":
            tab.slot.park()


def _ignore(_event: object) -> None:
    pass


def _mark(tab: WarmTab, reason: str) -> None:
    tab.broken = tab.broken or reason


async def _close_context(context: BrowserContext) -> None:
    with contextlib.suppress(Exception):  # already gone with its browser
        await asyncio.wait_for(context.close(), _CLOSE_TIMEOUT_S)
