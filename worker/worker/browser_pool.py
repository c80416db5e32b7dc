"""A small pool of long-lived Chromium browsers: launched one at a time, shared by sessions
(one fresh context each), retired after K sessions, above an RSS ceiling, or when one hangs.

Launching a browser costs far more than a context, so browsers live long and
contexts are per session. A retired browser takes no new sessions and closes
when its last one ends; a replacement is launched first, so capacity holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psutil
from playwright.async_api import Browser, Playwright

from jobcore.settings import Settings
from worker import orphan_reaper, trust_store

log = logging.getLogger(__name__)

BASE_FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    # WebRTC may not send UDP around the proxy (QUIC is off already): all traffic meets the egress proxy.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)  # fmt: skip
# Tests and the local stack only: nothing but loopback resolves, so no page can reach the internet.
OFFLINE_DNS_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.* , EXCLUDE localhost"
_RSS_CHECK_EVERY = 10
_CLOSE_TIMEOUT_S = 5.0


def launch_args(settings: Settings) -> list[str]:
    args = list(BASE_FLAGS)
    # Site isolation spawns a renderer per site; sessions are already isolated by context, and one
    # renderer per page halves memory on pages with third-party frames.
    args.append("--disable-site-isolation-trials")
    # A memory bomb hits V8's heap limit and crashes its renderer instead of starving the task.
    args.append(f"--js-flags=--max-old-space-size={settings.renderer_heap_mb}")
    if settings.offline_dns:
        args.append(OFFLINE_DNS_FLAG)
    return args


@dataclass(eq=False)
class PooledBrowser:
    browser: Browser
    pid: int | None
    sessions: int = 0
    active: int = 0
    retiring: bool = False
    dead: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pgid(self) -> int | None:
        return self.pid  # Playwright launches the browser as the leader of its own process group

    def rss_mb(self) -> float:
        if self.pid is None:
            return 0.0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 2**20


class BrowserPool:
    def __init__(
        self, playwright: Playwright, settings: Settings, env: dict[str, str] | None = None,
        launch_proxy: str | None = None,
    ) -> None:  # fmt: skip
        self.pw = playwright
        self.settings = settings
        self.env = env
        # The egress proxy's refuse-everything door: traffic outside a session's own context meets it.
        self.launch_proxy = launch_proxy
        self.browsers: list[PooledBrowser] = []
        self._launch_lock = asyncio.Lock()
        self._closing = False
        self.user_agent: str | None = None
        self.launched = 0
        self.home: trust_store.BrowserHome | None = None

    @property
    def executable(self) -> str:
        return self.settings.chromium_headful_path if self.settings.headful else self.settings.chromium_path

    async def start(self) -> None:
        self.home = await asyncio.to_thread(trust_store.make_browser_home, self.settings)
        for _ in range(self.settings.browsers_per_worker):
            await self._launch()  # one at a time: staggered, so launches do not fight for the CPU

    async def _launch(self) -> PooledBrowser:
        async with self._launch_lock:
            before = _chrome_children()
            env: dict[str, str | float | bool] = {
                **(self.env or os.environ),
                orphan_reaper.OWNER_ENV: str(os.getpid()),
                **(self.home.env() if self.home is not None else {}),
            }
            browser = await self.pw.chromium.launch(
                executable_path=self.executable,
                headless=not self.settings.headful,
                args=launch_args(self.settings),
                # Playwright turns Chromium's popup blocker off; a worker wants it on.
                ignore_default_args=["--disable-popup-blocking"],
                env=env,
                proxy={"server": self.launch_proxy, "bypass": "<-loopback>"} if self.launch_proxy else None,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
            new = _chrome_children() - before
            pid = min(new) if new else None
            pooled = PooledBrowser(browser=browser, pid=pid)
            browser.on("disconnected", lambda _b: self._on_disconnected(pooled))
            self.browsers.append(pooled)
            self.launched += 1
            if self.user_agent is None:
                self.user_agent = await self._user_agent(browser)
            log.info("browser launched pid=%s (%d in pool)", pid, len(self.live()))
            return pooled

    async def _user_agent(self, browser: Browser) -> str:
        """Chromium's own user agent with the identifying token appended: honest, never disguised."""
        page = await browser.new_page()
        try:
            ua = str(await page.evaluate("navigator.userAgent"))
        finally:
            await page.context.close()
        token = self.settings.user_agent_token
        return f"{ua} {token}" if token else ua

    def live(self) -> list[PooledBrowser]:
        return [b for b in self.browsers if not b.retiring and not b.dead]

    def live_pgids(self) -> set[int]:
        return {b.pgid for b in self.browsers if b.pgid is not None and not b.closed.is_set()}

    def _on_disconnected(self, pooled: PooledBrowser) -> None:
        if not pooled.dead:
            pooled.dead = True
            log.warning("browser pid=%s disconnected", pooled.pid)
            pooled.closed.set()

    @contextlib.asynccontextmanager
    async def browser(self) -> AsyncIterator[PooledBrowser]:
        """A browser for one session: the live one with the fewest active sessions."""
        async with self.use(await self.pick()) as pooled:
            yield pooled

    @contextlib.asynccontextmanager
    async def use(self, pooled: PooledBrowser) -> AsyncIterator[PooledBrowser]:
        """Count one session on `pooled` (a warm tab's browser); retire or replace it afterwards."""
        pooled.active += 1
        pooled.sessions += 1
        try:
            yield pooled
        finally:
            pooled.active -= 1
            await self._after_session(pooled)

    async def pick(self) -> PooledBrowser:
        live = self.live()
        if not live:
            return await self._launch()
        return min(live, key=lambda b: b.active)

    async def _after_session(self, pooled: PooledBrowser) -> None:
        if self._closing:
            return
        if not pooled.retiring and not pooled.dead:
            if pooled.sessions >= self.settings.browser_max_sessions:
                await self.retire(pooled, f"served {pooled.sessions} sessions")
            elif pooled.sessions % _RSS_CHECK_EVERY == 0:
                rss = await asyncio.to_thread(pooled.rss_mb)
                if rss > self.settings.browser_max_rss_mb:
                    await self.retire(pooled, f"RSS {rss:.0f} MB > {self.settings.browser_max_rss_mb} MB")
        if pooled.dead and pooled in self.browsers:
            self.browsers.remove(pooled)
            await self._kill(pooled)
            if len(self.live()) < self.settings.browsers_per_worker:
                await self._launch()
        elif pooled.retiring and pooled.active == 0 and pooled in self.browsers:
            self.browsers.remove(pooled)
            await self._close(pooled)

    async def retire(self, pooled: PooledBrowser, reason: str, *, kill: bool = False) -> None:
        """Take no new sessions on this browser; launch its replacement; close it when idle (or now)."""
        if pooled.retiring:
            if kill:
                await self._kill(pooled)
            return
        pooled.retiring = True
        log.info("retiring browser pid=%s: %s", pooled.pid, reason)
        if not self._closing and len(self.live()) < self.settings.browsers_per_worker:
            await self._launch()
        if kill:
            pooled.dead = True
            await self._kill(pooled)

    async def _close(self, pooled: PooledBrowser) -> None:
        try:
            await asyncio.wait_for(pooled.browser.close(), _CLOSE_TIMEOUT_S)
        except Exception as exc:
            log.warning("browser pid=%s did not close cleanly: %s", pooled.pid, exc)
        await self._kill(pooled)

    async def _kill(self, pooled: PooledBrowser) -> None:
        """Kill the browser's whole process group: renderers and helpers go with it."""
        if pooled.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pooled.pgid, signal.SIGKILL)
        pooled.closed.set()

    async def reap_orphans(self) -> int:
        async with self._launch_lock:  # a browser being launched is not yet in live_pgids
            return await asyncio.to_thread(orphan_reaper.reap, self.live_pgids())

    async def close(self) -> None:
        self._closing = True
        browsers, self.browsers = self.browsers, []
        await asyncio.gather(*(self._close(b) for b in browsers))
        if self.home is not None:
            self.home.remove()


def _chrome_children() -> set[int]:
    """PIDs of browser main processes below this process (renderers are their children, not ours)."""
    found = set()
    try:
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                name = proc.name().lower()
                if ("chrom" in name or "headless_shell" in name) and proc.ppid() not in found:
                    parent = psutil.Process(proc.ppid()).name().lower()
                    if "chrom" not in parent and "headless_shell" not in parent:
                        found.add(proc.pid)
    except psutil.Error:
        pass
    return found
