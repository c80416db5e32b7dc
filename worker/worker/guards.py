"""Per-session resource guards: egress checks, blocking, analytics detection and the byte meter.

Two interception points, because neither covers everything alone:
- Playwright's context route sees the first request of everything the context
  loads (frames, popups, workers) at request stage. It runs the egress guard,
  records analytics hits and blocks heavy resource types and URL patterns, but
  never an analytics collector.
- WebSockets bypass both: Playwright's WebSocket route sees each one the page
  opens; the guard checks its host like any other (ws as http, wss as https)
  and refuses it before any connection, or lets Playwright connect it.
  WebSockets opened inside workers are not routed (service workers are blocked).
- Playwright does not route redirect hops, so a CDP session on the page pauses
  responses; a 3xx whose Location the egress guard refuses is failed before
  Chromium follows it. The same session's Network events carry the protocol's
  transfer sizes (encodedDataLength), which is what `bytes_in` counts.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import BrowserContext, CDPSession, Page, Route, WebSocketRoute

from jobcore.analytics import detect
from jobcore.errors import ErrorType
from jobcore.masking import mask_url
from jobcore.models import AnalyticsHit, ErrorInfo, SessionSpec
from worker.egress import EgressGuard, Verdict
from worker.error_mapping import from_type

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_WS_POLICY_VIOLATION = 1008  # the close code the page sees for a refused WebSocket
MAX_HITS = 50


class SessionGuards:
    def __init__(self, spec: SessionSpec, egress: EgressGuard) -> None:
        self.spec = spec
        self.egress = egress
        self.block_types = frozenset(spec.block)
        self.block_patterns = tuple(p if "*" in p else f"*{p}*" for p in spec.block_urls)
        self.requests = 0
        self.blocked_requests = 0
        self.analytics: list[AnalyticsHit] = []
        self.analytics_seen = asyncio.Event()
        self.blocked_navigation: str | None = None
        self.stop_error: ErrorInfo | None = None
        self.stopped = asyncio.Event()
        self._finished_bytes = 0
        self._inflight_bytes: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cdp: CDPSession | None = None

    # ---- wiring ---------------------------------------------------------------------------------

    async def attach_context(self, context: BrowserContext) -> None:
        await context.route("**/*", self._on_route)
        await context.route_web_socket(_any_url, self._on_web_socket)

    async def attach_page(self, context: BrowserContext, page: Page) -> CDPSession:
        cdp = await context.new_cdp_session(page)
        self._cdp = cdp
        cdp.on("Fetch.requestPaused", self._on_paused)
        cdp.on("Network.dataReceived", self._on_data)
        cdp.on("Network.loadingFinished", self._on_finished)
        cdp.on("Network.loadingFailed", self._on_failed)
        cdp.on("Network.requestWillBeSent", self._on_will_be_sent)
        await cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Response"}]})
        await cdp.send("Network.enable", {})
        return cdp

    @property
    def bytes_in(self) -> int:
        return self._finished_bytes + sum(self._inflight_bytes.values())

    def stop(self, error: ErrorInfo) -> None:
        """End the session early (bandwidth, crash); the runner races its work against `stopped`."""
        if self.stop_error is None:
            self.stop_error = error
        self.stopped.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- request stage (Playwright route) -------------------------------------------------------

    async def _on_route(self, route: Route) -> None:
        request = route.request
        url = request.url
        self.requests += 1
        try:
            decision = await self.egress.check(url)
            if decision.verdict is Verdict.DENY:
                self._count_blocked(url, decision.reason, navigation=request.is_navigation_request())
                await route.abort("blockedbyclient")
                return
            if decision.verdict is Verdict.UNRESOLVABLE:
                await route.abort("namenotresolved")
                return
            hit = detect(url, request.method, request.post_data if request.method != "GET" else None)
            if hit is not None:
                self._record_hit(hit)
                await route.continue_()
                return
            if request.resource_type in self.block_types or self._matches_pattern(url):
                self.blocked_requests += 1
                await route.abort("blockedbyclient")
                return
            await route.continue_()
        except Exception as exc:  # the page or context went away mid-request; nothing left to guard
            log.debug("route for %s ended: %s", mask_url(url), exc)

    async def _on_web_socket(self, ws: WebSocketRoute) -> None:
        url = ws.url
        self.requests += 1
        try:
            decision = await self.egress.check(_as_http(url))
            if decision.verdict is Verdict.ALLOW:
                ws.connect_to_server()
                return
            if decision.verdict is Verdict.DENY:
                self._count_blocked(url, decision.reason, navigation=False)
            await ws.close(code=_WS_POLICY_VIOLATION, reason=decision.reason[:120])
        except Exception as exc:  # the page or context went away meanwhile
            log.debug("WebSocket route for %s ended: %s", mask_url(url), exc)

    def _matches_pattern(self, url: str) -> bool:
        return any(fnmatch.fnmatchcase(url, p) for p in self.block_patterns)

    def _record_hit(self, hit: AnalyticsHit) -> None:
        if len(self.analytics) < MAX_HITS:
            self.analytics.append(hit)
        self.analytics_seen.set()

    def _count_blocked(self, url: str, reason: str, *, navigation: bool) -> None:
        self.blocked_requests += 1
        if navigation:
            self.blocked_navigation = reason
        log.info("egress guard refused %s: %s", mask_url(url), reason)

    # ---- response stage (CDP): redirects -------------------------------------------------------

    def _on_paused(self, event: dict[str, Any]) -> None:
        self._spawn(self._handle_paused(event))

    async def _handle_paused(self, event: dict[str, Any]) -> None:
        cdp_request_id = event["requestId"]
        status = event.get("responseStatusCode")
        session = self._cdp
        if session is None:
            return
        try:
            if status in _REDIRECTS:
                location = _header(event.get("responseHeaders") or [], "location")
                if location:
                    target = urljoin(event["request"]["url"], location)
                    decision = await self.egress.check(target)
                    if decision.verdict is not Verdict.ALLOW:
                        reason = decision.reason
                        self._count_blocked(
                            target, reason, navigation=event.get("resourceType") == "Document"
                        )
                        await session.send(
                            "Fetch.failRequest",
                            {"requestId": cdp_request_id, "errorReason": "BlockedByClient"},
                        )
                        return
            await session.send("Fetch.continueRequest", {"requestId": cdp_request_id})
        except Exception as exc:  # target closed while paused
            log.debug("paused request ended: %s", exc)

    # ---- byte meter (CDP Network) ---------------------------------------------------------------

    def _on_will_be_sent(self, event: dict[str, Any]) -> None:
        redirect = event.get("redirectResponse")
        if redirect is not None:
            # Each hop is a request of its own that the route never saw; its response bytes count.
            self.requests += 1
            self._finished_bytes += int(redirect.get("encodedDataLength") or 0)
            self._check_budget()

    def _on_data(self, event: dict[str, Any]) -> None:
        request_id = event["requestId"]
        self._inflight_bytes[request_id] = self._inflight_bytes.get(request_id, 0) + int(
            event.get("encodedDataLength") or 0
        )
        self._check_budget()

    def _on_finished(self, event: dict[str, Any]) -> None:
        self._inflight_bytes.pop(event["requestId"], None)
        self._finished_bytes += int(event.get("encodedDataLength") or 0)
        self._check_budget()

    def _on_failed(self, event: dict[str, Any]) -> None:
        self._finished_bytes += self._inflight_bytes.pop(event["requestId"], 0)

    def _check_budget(self) -> None:
        if self.bytes_in > self.spec.max_bytes and self.stop_error is None:
            self.stop(
                from_type(
                    ErrorType.BANDWIDTH_EXCEEDED, f"{self.bytes_in} bytes > max_bytes {self.spec.max_bytes}"
                )
            )


def _header(headers: list[dict[str, str]], name: str) -> str | None:
    for item in headers:
        if item.get("name", "").lower() == name:
            return item.get("value")
    return None


def _any_url(url: str) -> bool:
    return True


def _as_http(url: str) -> str:
    """ws://h/… as http://h/…, wss:// as https://: the same host rules apply to both."""
    scheme, sep, rest = url.partition(":")
    mapped = {"ws": "http", "wss": "https"}.get(scheme.lower())
    return f"{mapped}{sep}{rest}" if mapped else url
