"""One session: a SessionSpec in, a SessionResult out, in a fresh browser context.

No queue logic lives here (the loop owns leases); the runner only needs a
browser, the guards and the screenshot store. Every Playwright call is bounded
by the session's deadline; the watchdog (`worker.watchdog`) bounds the whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, Response

from jobcore.constants import SessionStatus
from jobcore.errors import ErrorType
from jobcore.masking import mask_text, mask_url
from jobcore.models import ErrorInfo, SessionResult, SessionSpec, Timings, TlsInfo
from jobcore.settings import Settings
from jobcore.spec_secrets import secret_values
from worker import steps
from worker.egress import EgressGuard, Verdict
from worker.error_mapping import classify, from_type
from worker.guards import SessionGuards
from worker.screenshots import ScreenshotStore
from worker.tls_verdict import check_tls, tls_of

log = logging.getLogger(__name__)

MAX_CONSOLE_ERRORS = 20
MAX_CONSOLE_TEXT = 500
MAX_DIALOGS = 20  # past this the dialog stays open: the page freezes instead of burning CPU in a loop
MAX_POPUPS = 20

# Chromium's popup blocker lives in the full browser, not in headless-shell: the same rule (a popup
# needs a user gesture) applied in every frame, so a popup storm costs nothing. Popups that a click
# step legitimately opens are still closed at once by _on_new_page.
POPUP_RULE_JS = """(() => {
  const open = window.open;
  window.open = function (...args) {
    return navigator.userActivation && navigator.userActivation.isActive ? open.apply(this, args) : null;
  };
})();"""

_TIMINGS_JS = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  if (!n) return null;
  const f = v => (v > 0 ? Math.round(v - n.startTime) : null);
  return [f(n.responseStart), f(n.domContentLoadedEventEnd), f(n.loadEventEnd)];
}"""


@dataclass(frozen=True)
class SessionTask:
    spec: SessionSpec
    tenant: str
    job_id: str
    index: int
    attempt: int = 1
    enqueued_ms: int | None = None


@dataclass
class _State:
    task: SessionTask
    guards: SessionGuards
    deadline: float
    secrets: list[str]
    console_errors: list[str] = field(default_factory=list)
    dialogs: int = 0
    popups: int = 0
    http_status: int | None = None
    final_url: str | None = None
    timings: Timings = field(default_factory=Timings)
    screenshot_url: str | None = None
    tls: TlsInfo | None = None
    main_page: Page | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def remaining_ms(self) -> float:
        return max(0.0, (self.deadline - time.monotonic()) * 1000)


class SessionRunner:
    def __init__(self, settings: Settings, egress: EgressGuard, screenshots: ScreenshotStore | None) -> None:
        self.settings = settings
        self.egress = egress
        self.screenshots = screenshots
        self.user_agent: str | None = None

    async def precheck(self, spec: SessionSpec) -> ErrorInfo | None:
        """Refuse the target or proxy before the browser makes any request."""
        decision = await self.egress.check(spec.url)
        if decision.verdict is Verdict.DENY:
            return from_type(ErrorType.BLOCKED_TARGET, decision.reason)
        if spec.proxy is not None:
            server = spec.proxy.server if "://" in spec.proxy.server else f"http://{spec.proxy.server}"
            proxy_decision = await self.egress.check(server.replace("socks5://", "http://", 1))
            if proxy_decision.verdict is Verdict.DENY:
                return from_type(ErrorType.BLOCKED_TARGET, f"proxy refused: {proxy_decision.reason}")
        return None

    def context_options(self, spec: SessionSpec) -> dict[str, Any]:
        options: dict[str, Any] = {
            "viewport": {"width": spec.viewport.width, "height": spec.viewport.height},
            "service_workers": "block",
            "accept_downloads": False,
        }
        if self.user_agent:
            options["user_agent"] = self.user_agent
        if spec.locale:
            options["locale"] = spec.locale
        if spec.proxy is not None:
            proxy: dict[str, str] = {"server": spec.proxy.server, "bypass": "<-loopback>"}
            if spec.proxy.username is not None:
                proxy["username"] = spec.proxy.username
            if spec.proxy.password is not None:
                proxy["password"] = spec.proxy.password.get_secret_value()
            options["proxy"] = proxy
        return options

    async def run(self, browser: Browser, task: SessionTask, opened: list[BrowserContext]) -> SessionResult:
        """Run the session. The context is appended to `opened`: the caller closes it, bounded,
        even when this coroutine is cancelled by the watchdog."""
        started = time.monotonic()
        spec = task.spec
        guards = SessionGuards(spec, self.egress)
        state = _State(task, guards, started + spec.timeout_s, secret_values(spec))
        error = await self.precheck(spec)
        if error is None:
            try:
                context = await browser.new_context(**self.context_options(spec))
                opened.append(context)
                error = await self._race(context, state)
            except Exception as exc:
                error = classify(exc, secrets=state.secrets)
        state.timings.total = int((time.monotonic() - started) * 1000)
        return self._result(state, error)

    def failed_result(self, task: SessionTask, error: ErrorInfo, elapsed_s: float) -> SessionResult:
        """The result of a session the watchdog had to end from outside."""
        state = _State(task, SessionGuards(task.spec, self.egress), 0.0, secret_values(task.spec))
        state.timings.total = int(elapsed_s * 1000)
        return self._result(state, error)

    async def _race(self, context: BrowserContext, state: _State) -> ErrorInfo | None:
        """Drive the page until done, the deadline, or a guard stops the session (bytes, crash)."""
        drive = asyncio.ensure_future(self._drive(context, state))
        stopped = asyncio.ensure_future(state.guards.stopped.wait())
        try:
            done, _ = await asyncio.wait({drive, stopped}, timeout=state.remaining_ms() / 1000 + 0.05,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            stopped.cancel()
        if drive in done:
            return drive.result()
        drive.cancel()
        await asyncio.gather(drive, return_exceptions=True)
        if state.guards.stop_error is not None:
            return state.guards.stop_error
        return from_type(ErrorType.SESSION_TIMEOUT, self._hang_detail(state))

    def _hang_detail(self, state: _State) -> str:
        detail = f"{state.task.spec.timeout_s} s"
        return f"{detail}; the page opened {state.dialogs} dialogs" if state.dialogs else detail

    async def _drive(self, context: BrowserContext, state: _State) -> ErrorInfo | None:
        spec = state.task.spec
        guards = state.guards
        await guards.attach_context(context)
        await context.add_init_script(POPUP_RULE_JS)
        context.on("page", lambda p: self._on_new_page(p, state))
        page = await context.new_page()
        state.main_page = page
        page.on("console", lambda m: self._on_console(m, state))
        page.on("pageerror", lambda e: self._add_console(state, f"uncaught: {e}"))
        page.on("dialog", lambda d: self._on_dialog(d, state))
        page.on(
            "crash", lambda _p: guards.stop(from_type(ErrorType.BROWSER_CRASH, "the page's renderer crashed"))
        )
        await guards.attach_page(context, page)

        try:
            response = await page.goto(
                spec.url, wait_until=spec.wait_until, timeout=max(1.0, state.remaining_ms())
            )
        except Exception as exc:
            state.final_url = _safe_url(page, state)
            if guards.blocked_navigation is not None:
                return from_type(ErrorType.BLOCKED_TARGET, guards.blocked_navigation)
            if guards.stop_error is not None:
                return guards.stop_error
            return classify(exc, during="navigation", secrets=state.secrets)
        await self._observe(page, response, state)
        error = self._check_status(response, state) or check_tls(spec.expect.tls, state.tls)
        if error is not None:
            return error
        for number, step in enumerate(spec.steps, start=1):
            try:
                await steps.perform(page, step, state.remaining_ms())
            except Exception as exc:
                info = classify(exc, during=f"step {number} ({steps.describe(step)})", secrets=state.secrets)
                if info.type in (ErrorType.BROWSER_CRASH, ErrorType.BLOCKED_TARGET):
                    return info
                return ErrorInfo(type=ErrorType.STEP_FAILED, message=info.message)
        state.final_url = _safe_url(page, state)
        return await self._check_expectations(page, state)

    async def _observe(self, page: Page, response: Response | None, state: _State) -> None:
        state.http_status = response.status if response is not None else None
        state.final_url = _safe_url(page, state)
        state.tls = await tls_of(response)
        values = await page.evaluate(_TIMINGS_JS)
        if values:
            state.timings.ttfb, state.timings.dom_content_loaded, state.timings.load = values

    def _check_status(self, response: Response | None, state: _State) -> ErrorInfo | None:
        expected = state.task.spec.expect.status
        status = state.http_status
        if expected is not None and status != expected:
            return from_type(ErrorType.EXPECTATION_FAILED, f"expected HTTP {expected}, got {status}")
        if expected is None and status is not None and status == 407:
            return from_type(ErrorType.PROXY_AUTH_FAILED)
        if expected is None and status is not None and status >= 400:
            return from_type(ErrorType.HTTP_ERROR, f"HTTP {status}")
        return None

    async def _check_expectations(self, page: Page, state: _State) -> ErrorInfo | None:
        expect = state.task.spec.expect
        if expect.selector is not None:
            try:
                await page.wait_for_selector(
                    expect.selector, state="attached", timeout=max(1.0, state.remaining_ms())
                )
            except Exception:
                return from_type(ErrorType.EXPECTATION_FAILED, f"selector {expect.selector!r} not found")
        if expect.analytics and not state.guards.analytics_seen.is_set():
            wait_s = min(self.settings.analytics_wait_ms, state.remaining_ms()) / 1000
            try:
                await asyncio.wait_for(state.guards.analytics_seen.wait(), timeout=wait_s)
            except TimeoutError:
                return from_type(ErrorType.ANALYTICS_NOT_DETECTED)
        if state.task.spec.screenshot and self.screenshots is not None:
            png = await page.screenshot(type="png", timeout=max(1.0, state.remaining_ms()))
            task = state.task
            state.screenshot_url = await self.screenshots.put(
                task.tenant, task.job_id, task.index, task.attempt, png
            )
        return None

    # ---- page events ----------------------------------------------------------------------------

    def _on_new_page(self, page: Page, state: _State) -> None:
        if state.main_page is None or page is state.main_page:
            return
        # Popups that got past POPUP_RULE_JS (a click step's) are closed at once.
        state.popups += 1
        state.spawn(_close_quietly(page))

    def _on_console(self, message: ConsoleMessage, state: _State) -> None:
        if message.type == "error":
            self._add_console(state, message.text)

    def _add_console(self, state: _State, text: str) -> None:
        if len(state.console_errors) < MAX_CONSOLE_ERRORS:
            state.console_errors.append(mask_text(str(text)[:MAX_CONSOLE_TEXT], state.secrets))

    def _on_dialog(self, dialog: Dialog, state: _State) -> None:
        state.dialogs += 1
        if state.dialogs <= MAX_DIALOGS:
            state.spawn(_dismiss_quietly(dialog))

    # ---- result ---------------------------------------------------------------------------------

    def _result(self, state: _State, error: ErrorInfo | None) -> SessionResult:
        task = state.task
        guards = state.guards
        if task.enqueued_ms:
            state.timings.queue_wait = max(
                0, int(time.time() * 1000 - task.enqueued_ms - (state.timings.total or 0))
            )
        if error is not None:
            error = ErrorInfo(type=error.type, message=mask_text(error.message, state.secrets))
        return SessionResult(
            index=task.index,
            url=mask_url(task.spec.url),
            status=SessionStatus.FAILED if error is not None else SessionStatus.OK,
            error=error,
            http_status=state.http_status,
            final_url=mask_url(state.final_url) if state.final_url else None,
            timings_ms=state.timings,
            bytes_in=guards.bytes_in,
            requests=guards.requests,
            blocked_requests=guards.blocked_requests,
            analytics=list(guards.analytics),
            console_errors=list(state.console_errors),
            screenshot_url=state.screenshot_url,
            attempts=task.attempt,
            tls=state.tls,
        )


def _safe_url(page: Page, state: _State) -> str | None:
    url = page.url
    return None if url in ("", "about:blank") else url


async def _close_quietly(page: Page) -> None:
    try:
        await page.close()
    except Exception as exc:
        log.debug("popup close: %s", exc)


async def _dismiss_quietly(dialog: Dialog) -> None:
    try:
        await dialog.dismiss()
    except Exception as exc:
        log.debug("dialog dismiss: %s", exc)
