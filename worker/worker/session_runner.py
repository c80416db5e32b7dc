"""One session: a SessionSpec in, a SessionResult out, in a fresh browser context or on a warm tab.

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

from jobcore.analytics_models import AnalyticsVerdict
from jobcore.artifact_budget import ArtifactBudget
from jobcore.constants import SessionStatus
from jobcore.errors import ErrorType, TargetBlockedError
from jobcore.limits import MAX_CONSOLE_ERRORS, MAX_CONSOLE_TEXT
from jobcore.masking import mask_text, mask_url
from jobcore.models import (
    ArtifactRef,
    ErrorInfo,
    FailureContext,
    SessionResult,
    SessionSpec,
    Timings,
    TlsInfo,
)
from jobcore.resolver import HostUnresolvableError
from jobcore.settings import Settings
from jobcore.spec_secrets import secret_values
from jobcore.urlguard import Target, parse_proxy_server, parse_target
from worker import egress_refusals, steps
from worker.analytics_capture import VITALS_JS, VITALS_SNAPSHOT_JS, analytics_error, analytics_policy_stop
from worker.artifacts import ArtifactRecorder
from worker.egress_proxy import EgressProxy, EgressSession
from worker.error_mapping import classify, from_type, net_error_code
from worker.guards import SessionGuards
from worker.listeners import Listeners
from worker.screenshots import ScreenshotStore
from worker.tls_verdict import check_tls, tls_of
from worker.upstream import Upstream
from worker.warm_tabs import WarmTab, WarmTabs

log = logging.getLogger(__name__)


# Chromium's popup blocker lives in the full browser, not in headless-shell: the same rule (a popup
# needs a user gesture) applied in every frame, so a popup storm costs nothing. Popups that a click
# step legitimately opens are still closed at once by _on_new_page.
POPUP_RULE_JS = """(() => {
  const open = window.open;
  window.open = function (...args) {
    return navigator.userActivation && navigator.userActivation.isActive ? open.apply(this, args) : null;
  };
})();"""

# The navigation timings and the Web Vitals observer's figures so far, in one round trip.
_TIMINGS_JS = (
    """() => {
  const n = performance.getEntriesByType('navigation')[0];
  if (!n) return null;
  const f = v => (v > 0 ? Math.round(v - n.startTime) : null);
  return [f(n.responseStart), f(n.domContentLoadedEventEnd), f(n.loadEventEnd), ("""
    + VITALS_SNAPSHOT_JS
    + """)()];
}"""
)
# The page's resources, as the browser counts them (the document and its redirect hops come from the
# navigation's response: Navigation Timing does not count cross-origin redirects).
_RESOURCES_JS = "() => performance.getEntriesByType('resource').length"
# Resource Timing keeps 250 entries by default; a heavy page has more.
_RESOURCE_BUFFER_JS = "performance.setResourceTimingBufferSize(2000);"
# analytics_delivery "send": how long the session's connections may take to finish before they are cut.
_SEND_SETTLE_S = 1.0


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
    egress: EgressSession | None = None
    page_requests: int | None = None
    document_requests: int = 1  # the navigation and its redirect hops
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
    recorder: ArtifactRecorder | None = None
    verdict: AnalyticsVerdict | None = None
    judged: bool = False
    artifacts: list[ArtifactRef] = field(default_factory=list)
    failure: FailureContext | None = None
    tab: WarmTab | None = None
    listeners: Listeners = field(default_factory=Listeners)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def remaining_ms(self) -> float:
        return max(0.0, (self.deadline - time.monotonic()) * 1000)


class SessionRunner:
    def __init__(
        self,
        settings: Settings,
        egress: EgressProxy,
        screenshots: ScreenshotStore | None,
        budget: ArtifactBudget | None = None,
    ) -> None:
        self.settings = settings
        self.egress = egress
        self.screenshots = screenshots
        self.budget = budget  # the per-job cap on artifact bytes
        self.user_agent: str | None = None
        observed = ("request", "response", "requestfailed") if settings.analytics_ledger else ()
        self.tabs = WarmTabs(settings.sessions_per_worker, egress, context_events=observed)

    def init_script(self) -> str:
        """Every page's init script: the same for every session of this worker (a warm tab adds it once)."""
        return POPUP_RULE_JS + _RESOURCE_BUFFER_JS + (VITALS_JS if self.settings.analytics_ledger else "")

    async def precheck(self, spec: SessionSpec, egress: EgressSession | None = None) -> ErrorInfo | None:
        """Refuse the target or proxy before the browser makes any request. The answers are pinned for
        the session: the proxy connects to what was checked here."""
        pinned = egress.pinned if egress is not None else None
        try:
            await self.egress.addresses(parse_target(spec.url), pinned)
        except HostUnresolvableError as exc:
            return from_type(ErrorType.DNS_ERROR, exc.reason)
        except TargetBlockedError as exc:
            return from_type(ErrorType.BLOCKED_TARGET, exc.reason)
        if spec.proxy is not None:
            try:
                proxy = parse_proxy_server(spec.proxy.server)
                await self.egress.addresses(Target(proxy.scheme, proxy.host, proxy.port), pinned)
            except HostUnresolvableError as exc:
                return from_type(ErrorType.PROXY_ERROR, exc.reason)
            except (TargetBlockedError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, TargetBlockedError) else str(exc)
                return from_type(ErrorType.BLOCKED_TARGET, f"proxy refused: {reason}")
        return None

    def context_options(self, spec: SessionSpec, egress: EgressSession) -> dict[str, Any]:
        options: dict[str, Any] = {
            "viewport": {"width": spec.viewport.width, "height": spec.viewport.height},
            "service_workers": "block",
            "accept_downloads": False,
            # Every request of the context, loopback included, goes through the session's egress door.
            # No credentials here: Playwright would then pause every request to answer auth challenges.
            "proxy": {"server": egress.server_url, "bypass": "<-loopback>"},
        }
        if self.user_agent:
            options["user_agent"] = self.user_agent
        if spec.locale:
            options["locale"] = spec.locale
        return options

    async def open_egress(self, spec: SessionSpec, guards: SessionGuards) -> EgressSession:
        return await self.egress.open_session(
            max_bytes=spec.max_bytes, upstream=_upstream(spec), on_stop=guards.on_egress_stop
        )

    async def run(
        self, browser: Browser, task: SessionTask, opened: list[BrowserContext], tab: WarmTab | None = None
    ) -> SessionResult:
        """Run the session, in a new context or on `tab` (already wiped). A new context is appended to
        `opened`: the caller closes it, bounded, even when the watchdog cancels this coroutine."""
        started = time.monotonic()
        spec = task.spec
        guards = SessionGuards(spec, observe=self.settings.analytics_ledger)
        state = _State(task, guards, started + spec.timeout_s, secret_values(spec), tab=tab)
        if tab is None:
            egress = state.egress = await self.open_egress(spec, guards)
        else:
            egress = state.egress = tab.slot
            self.tabs.bind(
                tab, max_bytes=spec.max_bytes, upstream=_upstream(spec), on_stop=guards.on_egress_stop
            )
        try:
            try:
                error = await self.precheck(spec, egress)
                if error is None:
                    recorder = state.recorder = ArtifactRecorder(
                        spec, (task.tenant, task.job_id, task.index), self.screenshots, self.budget
                    )
                    if tab is None:
                        context = await browser.new_context(
                            **self.context_options(spec, egress), **recorder.context_options()
                        )
                        opened.append(context)
                    else:
                        context = tab.context  # warm tabs never record a HAR or a trace (see isolation_of)
                    await recorder.start(context)
                    error = await self._race(context, state)
            except Exception as exc:
                error = classify(exc, secrets=state.secrets)
            except BaseException:
                if state.recorder is not None:  # cancelled (watchdog, lost lease): no HAR or trace left
                    state.recorder.cleanup()
                raise
            state.timings.total = int((time.monotonic() - started) * 1000)
            error = self._judge(state, error)  # before the evidence: an analytics failure keeps its evidence
            if state.recorder is not None:  # evidence before the caller closes the context, timeouts too
                state.artifacts = await state.recorder.finish(
                    error is not None, self.settings.session_grace_s * 0.6
                )
                if error is not None:
                    state.failure = state.recorder.failure(error.type is ErrorType.STEP_FAILED)
            if spec.analytics_delivery == "send":
                # Hits the ledger calls delivered were let through: let them land before the cut.
                await egress.quiesce(_SEND_SETTLE_S)
        finally:
            # After the evidence (the page as it was, not an error page), and also when cancelled:
            # no connection of this session outlives it, and no listener of it stays on a warm tab.
            state.listeners.clear()
            if tab is None:
                egress.close()
            else:
                tab.slot.park(cut="connections" not in self.tabs.skipped)
                guards.detach()
        return self._result(state, error)

    def failed_result(
        self, task: SessionTask, error: ErrorInfo, elapsed_s: float, tab: WarmTab | None = None
    ) -> SessionResult:
        """The result of a session the watchdog had to end from outside."""
        state = _State(task, SessionGuards(task.spec), 0.0, secret_values(task.spec), tab=tab)
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
        on = state.listeners.on
        await guards.capture.attach(context, on)
        if state.tab is None:
            await context.add_init_script(self.init_script())
        on(context, "page", lambda p: self._on_new_page(p, state))
        page = state.tab.page if state.tab is not None else await context.new_page()
        state.main_page = page
        if state.recorder is not None:
            state.recorder.watch(page, on)
        on(page, "console", lambda m: self._on_console(m, state))
        on(page, "pageerror", lambda e: self._add_console(state, f"uncaught: {e}"))
        on(page, "dialog", lambda d: self._on_dialog(d, state))
        crashed = from_type(ErrorType.BROWSER_CRASH, "the page's renderer crashed")
        on(page, "crash", lambda _p: guards.stop(crashed))
        tab = state.tab
        if tab is None:
            await guards.attach_page(context, page)
        else:  # unknown until Fetch.enable answers: a failed call must not leave stale patterns trusted
            enabled, tab.fetch_patterns = tab.fetch_patterns, None
            tab.fetch_patterns = await guards.attach_page(context, page, tab.cdp, enabled)
        on(page, "framenavigated", guards.capture.frame_navigated)
        guards.capture.navigation_started()
        try:
            response = await page.goto(
                spec.url, wait_until=spec.wait_until, timeout=max(1.0, state.remaining_ms())
            )
        except Exception as exc:
            state.final_url = _safe_url(page)
            if guards.stop_error is not None:
                return guards.stop_error
            return egress_refusals.failed_navigation(state.egress, net_error_code(str(exc))) or classify(
                exc, during="navigation", secrets=state.secrets
            )
        await self._observe(page, response, state)
        error = (
            egress_refusals.refused_response(state.egress, response)
            or self._check_status(response, state)
            or check_tls(spec.expect.tls, state.tls)
        )
        if error is not None:
            return error
        for number, step in enumerate(spec.steps, start=1):
            if state.recorder is not None:
                state.recorder.step(number, step.action)
            guards.capture.step_started(number, step.action)
            try:
                await steps.perform(page, step, state.remaining_ms())
            except Exception as exc:
                info = classify(exc, during=f"step {number} ({steps.describe(step)})", secrets=state.secrets)
                if info.type in (ErrorType.BROWSER_CRASH, ErrorType.BLOCKED_TARGET):
                    return info
                return ErrorInfo(type=ErrorType.STEP_FAILED, message=info.message)
        state.final_url = _safe_url(page)
        error = egress_refusals.left_for_refused(state.egress, page.url)
        if error is not None:
            return error
        error = await self._check_expectations(page, state)
        state.page_requests = state.document_requests + await page.evaluate(_RESOURCES_JS)
        return error

    async def _observe(self, page: Page, response: Response | None, state: _State) -> None:
        state.http_status = response.status if response is not None else None
        hop = response.request.redirected_from if response is not None else None
        while hop is not None:
            state.document_requests += 1
            hop = hop.redirected_from
        state.final_url = _safe_url(page)
        state.tls = await tls_of(response)
        values = await page.evaluate(_TIMINGS_JS)
        if values:
            state.timings.ttfb, state.timings.dom_content_loaded, state.timings.load = values[:3]
            state.guards.capture.take_vitals(values[3])

    def _check_status(self, response: Response | None, state: _State) -> ErrorInfo | None:
        expected = state.task.spec.expect.status
        status = state.http_status
        if expected is not None and status != expected:
            return from_type(ErrorType.EXPECTATION_FAILED, f"expected HTTP {expected}, got {status}")
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
        if state.task.spec.screenshot and self.screenshots is not None:
            png = await page.screenshot(type="png", timeout=max(1.0, state.remaining_ms()))
            task = state.task
            state.screenshot_url = await self.screenshots.put(
                task.tenant, task.job_id, task.index, task.attempt, png
            )
        # Last: it hides the page to flush the tags' batches. The verdict is judged in _result.
        await state.guards.capture.settle(page, state.remaining_ms(), self.settings.analytics_wait_ms)
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
        # Every dialog is dismissed: an open one freezes the page, and a page that alerts 50 times and
        # then renders must complete. A page that alerts forever is bounded by the session timeout.
        state.dialogs += 1
        state.spawn(_dismiss_quietly(dialog))

    # ---- result ---------------------------------------------------------------------------------

    def _judge(self, state: _State, error: ErrorInfo | None) -> ErrorInfo | None:
        """The analytics verdict, and the session's error when it ran cleanly but failed its rules."""
        capture = state.guards.capture
        state.verdict, state.judged = capture.verdict(analytics_policy_stop(error)), True
        return error or analytics_error(state.task.spec, capture, state.verdict)

    def _result(self, state: _State, error: ErrorInfo | None) -> SessionResult:
        task = state.task
        guards = state.guards
        if task.enqueued_ms:
            state.timings.queue_wait = max(
                0, int(time.time() * 1000 - task.enqueued_ms - (state.timings.total or 0))
            )
        capture = guards.capture
        error = error if state.judged else self._judge(state, error)
        verdict = state.verdict
        if error is not None:
            error = ErrorInfo(type=error.type, message=mask_text(error.message, state.secrets))
        egress = state.egress
        refused = egress.refused if egress is not None else 0
        requests = state.page_requests
        if requests is None:  # the page never finished: what reached the proxy
            requests = (egress.http_requests + egress.tunnels + refused) if egress is not None else 0
        ledger, dropped = capture.ledger()
        return SessionResult(
            index=task.index,
            url=mask_url(task.spec.url),
            status=SessionStatus.FAILED if error is not None else SessionStatus.OK,
            error=error,
            http_status=state.http_status,
            final_url=mask_url(state.final_url) if state.final_url else None,
            timings_ms=state.timings,
            bytes_in=egress.bytes_in if egress is not None else 0,
            bytes_out=egress.bytes_out if egress is not None else 0,
            requests=requests + guards.blocked_requests,
            blocked_requests=guards.blocked_requests + refused,
            analytics=ledger,
            analytics_dropped=dropped,
            analytics_verdict=verdict,
            web_vitals=capture.web_vitals,
            console_errors=list(state.console_errors),
            popups=state.popups,
            screenshot_url=state.screenshot_url,
            attempts=task.attempt,
            tls=state.tls,
            failure=state.failure,
            artifacts=state.artifacts,
            isolation="tab" if state.tab is not None else "context",
        )


def _upstream(spec: SessionSpec) -> Upstream | None:
    if spec.proxy is None:
        return None
    password = spec.proxy.password.get_secret_value() if spec.proxy.password is not None else None
    return Upstream(parse_proxy_server(spec.proxy.server), spec.proxy.username, password)


def isolation_of(spec: SessionSpec) -> str:
    """The level a session runs at: "tab" only when asked and when a warm tab can serve it. A HAR is a
    context option and a trace records the whole context, so a spec recording either gets a fresh one."""
    if spec.isolation == "tab" and spec.artifacts.har == "never" and spec.artifacts.trace == "never":
        return "tab"
    return "context"


def _safe_url(page: Page) -> str | None:
    url = page.url
    return None if url in ("", "about:blank") or url.startswith("chrome-error://") else url


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
