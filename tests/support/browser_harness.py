"""Real Chromium for e2e tests: the worker's own pool, guards and runner, on a background loop."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Playwright, async_playwright

from jobcore.models import SessionResult, SessionSpec
from jobcore.settings import Settings
from tests.support.loop_thread import LoopThread
from worker.browser_pool import BrowserPool
from worker.egress_proxy import EgressProxy
from worker.screenshots import ScreenshotStore
from worker.session_runner import SessionRunner, SessionTask
from worker.watchdog import run_guarded


def browser_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_targets": "127.0.0.1/32", "offline_dns": True, "browsers_per_worker": 1,
        "session_grace_s": 3.0, "analytics_wait_ms": 1500, "renderer_heap_mb": 128,
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)


class BrowserHarness:
    def __init__(self, settings: Settings, screenshots: ScreenshotStore | None = None) -> None:
        self.settings = settings
        self.loop = LoopThread()
        self._pw: Playwright | None = None
        self.pool: BrowserPool | None = None
        self.egress = EgressProxy(settings)
        self.runner = SessionRunner(settings, self.egress, screenshots)
        self.loop.run(self._start())

    async def _start(self) -> None:
        await self.egress.start()
        self._pw = await async_playwright().start()
        self.pool = BrowserPool(self._pw, self.settings, launch_proxy=self.egress.launch_proxy_url)
        await self.pool.start()

    def run(self, spec: dict[str, Any] | SessionSpec, *, tenant: str = "t1", job_id: str = "job1",
            index: int = 0, attempt: int = 1) -> SessionResult:  # fmt: skip
        model = spec if isinstance(spec, SessionSpec) else SessionSpec.model_validate(spec)
        task = SessionTask(model, tenant, job_id, index, attempt)
        assert self.pool is not None
        return self.loop.run(run_guarded(self.pool, self.runner, task, self.settings.session_grace_s))

    def close(self) -> None:
        async def _stop() -> None:
            await self.runner.tabs.close()
            if self.pool is not None:
                await self.pool.close()
            if self._pw is not None:
                await self._pw.stop()
            await self.egress.close()

        self.loop.run(_stop())
        self.loop.stop()
