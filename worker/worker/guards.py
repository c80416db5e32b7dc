"""Per-session resource guards: blocking heavy types and URL patterns, and recording analytics hits.

The egress policy is not here: it lives in the worker's egress proxy
(`worker.egress_proxy`), which every connection goes through. What is here
only saves bytes and records hits, so it pauses only the requests it must act
on: one CDP Fetch interception on the page whose patterns are the blocked
resource types, the blocked URL patterns and the analytics collectors' URL
globs. Every other request runs without a round trip through the worker.
Collectors are never blocked: a paused request that the analytics capture
(`worker.analytics_capture`) recognises is recorded and answered with 204 (or,
with `analytics_delivery: "send"`, let through), whatever its type.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page

from jobcore.analytics import collector_url_patterns
from jobcore.errors import ErrorType
from jobcore.masking import mask_url
from jobcore.models import ErrorInfo, SessionSpec
from jobcore.spec_secrets import secret_values
from worker.analytics_capture import AnalyticsCapture
from worker.error_mapping import from_type

log = logging.getLogger(__name__)

# Playwright's resource type names (the spec's `block`) → the protocol's.
CDP_RESOURCE_TYPES = {
    "stylesheet": "Stylesheet", "image": "Image", "media": "Media", "font": "Font", "script": "Script",
    "texttrack": "TextTrack", "xhr": "XHR", "fetch": "Fetch", "eventsource": "EventSource",
    "websocket": "WebSocket", "manifest": "Manifest", "other": "Other",
}  # fmt: skip


def fetch_patterns(spec: SessionSpec) -> list[dict[str, str]]:
    """The Fetch.enable patterns: exactly the requests this session's guards must see."""
    patterns = [{"urlPattern": "*", "resourceType": CDP_RESOURCE_TYPES[t]} for t in dict.fromkeys(spec.block)]
    patterns += [{"urlPattern": p} for p in _url_patterns(spec)]
    custom = spec.expect.analytics.collectors if spec.expect.analytics is not None else ()
    patterns += [{"urlPattern": g} for g in collector_url_patterns(custom)]
    return patterns


def _url_patterns(spec: SessionSpec) -> tuple[str, ...]:
    return tuple(p if "*" in p else f"*{p}*" for p in spec.block_urls)


class SessionGuards:
    def __init__(self, spec: SessionSpec, *, observe: bool = True) -> None:
        self.spec = spec
        self.capture = AnalyticsCapture(spec, secret_values(spec), observe=observe)
        self.block_types = frozenset(CDP_RESOURCE_TYPES[t] for t in spec.block)
        self.block_patterns = _url_patterns(spec)
        self.blocked_requests = 0
        self.stop_error: ErrorInfo | None = None
        self.stopped = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._cdp: CDPSession | None = None

    def stop(self, error: ErrorInfo) -> None:
        """End the session early (bandwidth, crash); the runner races its work against `stopped`."""
        if self.stop_error is None:
            self.stop_error = error
        self.stopped.set()

    def on_egress_stop(self, error_type: ErrorType, detail: str) -> None:
        self.stop(from_type(error_type, detail))

    async def attach_page(
        self, context: BrowserContext, page: Page, cdp: CDPSession | None = None, enabled: object = None
    ) -> object:
        """Intercept on the page's own CDP session, or on `cdp` (a warm tab's, which outlives the session:
        Fetch.enable replaces the last session's patterns, and `detach` takes this session's handler off).
        `enabled`: the patterns already enabled there; the same ones are not sent again. Returns them."""
        cdp = cdp or await context.new_cdp_session(page)
        self._cdp = cdp
        cdp.on("Fetch.requestPaused", self._on_paused)
        patterns = fetch_patterns(self.spec)
        if patterns != enabled:
            await cdp.send("Fetch.enable", {"patterns": patterns})
        return patterns

    def detach(self) -> None:
        """A warm tab's session ended: nothing it paused reaches this session's guards any more."""
        cdp, self._cdp = self._cdp, None
        if cdp is not None:
            cdp.remove_listener("Fetch.requestPaused", self._on_paused)

    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._handle_paused(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle_paused(self, event: dict[str, Any]) -> None:
        session = self._cdp
        if session is None:
            return
        request = event["request"]
        url = request["url"]
        try:
            if await self.capture.handle_cdp_paused(session, event):
                return
            kind = event.get("resourceType")
            if kind in self.block_types or self._matches_pattern(url):
                self.blocked_requests += 1
                self.capture.note_blocked(url, _block_reason(str(kind), self.block_types))
                await session.send(
                    "Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "BlockedByClient"}
                )
                return
            await session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
        except Exception as exc:  # the page or context went away mid-request; nothing left to guard
            log.debug("paused request for %s ended: %s", mask_url(url), exc)

    def _matches_pattern(self, url: str) -> bool:
        return any(fnmatch.fnmatchcase(url, p) for p in self.block_patterns)


def _block_reason(resource_type: str, block_types: frozenset[str]) -> str:
    if resource_type in block_types:
        return f"resource type {resource_type.lower()!r} is in the session's block list"
    return "the URL matches the session's block_urls"
