"""The session's hit ledger: collector requests answered (or sent), tag loads and requests observed.

Two ways in, both cheap on the happy path:
- the network path pauses only collector requests (`url_patterns()`: CDP Fetch globs at request
  stage) and hands each to `handle_route` (Playwright) or `handle_cdp_paused` (CDP); by default
  the worker answers it with 204 so nothing reaches the vendor, with `analytics_delivery: "send"`
  it continues and the entry says `delivered`;
- Playwright's request/response events (no pausing) give every request URL (`expect.requests`)
  and how each tag script ended (gtm.js, gtag/js … always load from the network).
`settle` flushes the page's batches (page hide) and waits for what the rules still expect; the
verdict itself is `jobcore.analytics_verdict`'s.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import replace
from typing import Any, Literal

from playwright.async_api import BrowserContext, CDPSession, Frame, Page, Request, Response, Route

from jobcore import limits
from jobcore.analytics import Collected, collector_url_patterns, mask_params, parse_request, tag_script
from jobcore.analytics_models import AnalyticsHit, AnalyticsVerdict, ProblemType, WebVitals
from jobcore.analytics_verdict import Evidence, SeenRequest, TagLoad, failure, judge
from jobcore.errors import ErrorType
from jobcore.masking import mask_text, mask_url
from jobcore.models import ErrorInfo, SessionSpec
from jobcore.web_vitals import over_budget
from worker.http_wire import EGRESS_HEADER
from worker.listeners import OnFn

log = logging.getLogger(__name__)

_LCP_POLLS = 5  # times 100 ms, only under an lcp_ms budget
_OURS = "net::ERR_BLOCKED_BY_CLIENT"  # how Chromium reports a request our guards aborted
_STILL_EXPECTED = frozenset({
    ProblemType.TAG_NOT_LOADED, ProblemType.TAG_LOADED_NO_HIT, ProblemType.EVENT_MISSING,
    ProblemType.PARAM_MISMATCH, ProblemType.REQUEST_ASSERTION,
})  # fmt: skip

# Web Vitals from the browser's own performance entries, and the CSP refusals, in the top frame only.
# No network. CLS is the largest session window (shifts < 1 s apart, window < 5 s); INP the longest
# interaction (a session has few).
VITALS_JS = """(() => {
  if (window.top !== window || window.__ttVitals) return;
  const v = window.__ttVitals = {fcp: null, lcp: null, cls: 0, inp: null, csp: []};
  const po = (type, cb, extra) => {
    try {
      new PerformanceObserver(l => l.getEntries().forEach(cb)).observe({type, buffered: true, ...extra});
    } catch (e) {}
  };
  po('paint', e => { if (e.name === 'first-contentful-paint') v.fcp = e.startTime; });
  po('largest-contentful-paint', e => { v.lcp = e.startTime; });
  let sum = 0, first = 0, last = 0;
  po('layout-shift', e => {
    if (e.hadRecentInput) return;
    if (sum && e.startTime - last < 1000 && e.startTime - first < 5000) { sum += e.value; }
    else { sum = e.value; first = e.startTime; }
    last = e.startTime; v.cls = Math.max(v.cls, sum);
  });
  po('event', e => { if (e.interactionId) v.inp = Math.max(v.inp || 0, e.duration); },
     {durationThreshold: 16});
  document.addEventListener('securitypolicyviolation', e => {
    if (v.csp.length < 20) v.csp.push(String(e.blockedURI));
  });
})();"""

# The observer's figures now (null when the observer is off), for the runner's load-time read too.
VITALS_SNAPSHOT_JS = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  const v = window.__ttVitals;
  return v ? {ttfb: n ? n.responseStart - n.startTime : null, fcp: v.fcp, lcp: v.lcp, cls: v.cls, inp: v.inp,
              csp: v.csp.slice()} : null;
}"""

# Read the vitals, then hide the page as a leaving reader would: tags flush their batches on it.
_READ_AND_FLUSH_JS = (
    """(flush) => {
  const out = ("""
    + VITALS_SNAPSHOT_JS
    + """)();
  if (flush) {
    Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
    Object.defineProperty(document, 'hidden', {value: true, configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}));
  }
  return out;
}"""
)


class AnalyticsCapture:
    def __init__(self, spec: SessionSpec, secrets: list[str], *, observe: bool = True) -> None:
        self.spec = spec
        self.expect = spec.expect.analytics
        self.secrets = secrets
        self.send = spec.analytics_delivery == "send"
        self.custom = tuple(self.expect.collectors) if self.expect is not None else ()
        self.asked = self.expect is not None or bool(spec.expect.requests)
        self.observe = observe  # request/response listeners and the vitals observer
        self.entries: list[AnalyticsHit] = []
        self.dropped = 0
        self.hit_seen = asyncio.Event()
        self.web_vitals: WebVitals | None = None
        self._tags: dict[Request, TagLoad] = {}
        self._requests: list[SeenRequest] = []
        self._blocked: dict[str, str] = {}
        self._csp: list[str] = []
        self._t0: float | None = None
        self._navigation_starts = [0]
        self._step_starts: dict[int, int] = {}
        self._step = 0
        self._steps_ran = False
        self._page_url: str | None = None

    # ---- wiring ---------------------------------------------------------------------------------

    def url_patterns(self) -> list[dict[str, str]]:
        """CDP Fetch.enable patterns that pause every collector request (and nothing else we need)."""
        return [{"urlPattern": g, "requestStage": "Request"} for g in collector_url_patterns(self.custom)]

    def init_script(self) -> str:
        """The Web Vitals observer, for the runner's one init script (one protocol call per context)."""
        return VITALS_JS if self.observe else ""

    async def attach(self, context: BrowserContext, on: OnFn) -> None:
        """Listen to the context's requests through `on` (the session's listeners, removed at its end)."""
        if not self.observe:
            return
        on(context, "request", self._on_request)
        on(context, "response", self._on_response)
        on(context, "requestfailed", self._on_failed)

    def navigation_started(self) -> None:
        self._t0 = time.monotonic()

    def frame_navigated(self, frame: Frame) -> None:
        if frame.parent_frame is None:
            self.main_frame_navigated(frame.url)

    def main_frame_navigated(self, url: str) -> None:
        if self._page_url is not None:  # a later document: hits after it belong to a new page load
            self._navigation_starts.append(self._now_ms())
            self._step = 0
        self._page_url = mask_text(mask_url(url), self.secrets)

    def step_started(self, number: int, action: str) -> None:
        self._steps_ran = True
        if action != "wait":  # a wait triggers nothing: hits during it still belong to what came before
            self._step = number
            self._step_starts[number] = self._now_ms()

    def note_blocked(self, url: str, reason: str) -> None:
        """Our guards stopped this request (blocked type or URL, egress guard): never the site's fault."""
        if len(self._blocked) < limits.MAX_RECORDED_REQUESTS:
            self._blocked[url] = reason

    # ---- collector requests (paused) ------------------------------------------------------------

    def collect(self, url: str, method: str, post_data: str | bytes | None, resource_type: str) -> bool:
        """Record the hits of a paused request; True when it is a collector the caller must answer
        (204) or, with `analytics_delivery: "send"`, continue."""
        found = parse_request(url, method, post_data, resource_type, self.custom)
        if found is None or found.kind != "collector":
            return False
        self._record(found, delivered=self.send)
        return True

    async def handle_route(self, route: Route) -> bool:
        request = route.request
        post = request.post_data_buffer if request.method != "GET" else None
        if not self.collect(request.url, request.method, post, request.resource_type):
            return False
        if self.send:
            await route.continue_()
        else:
            await route.fulfill(status=204, headers=_cors(request.headers.get("origin")))
        return True

    async def handle_cdp_paused(self, cdp: CDPSession, event: dict[str, Any]) -> bool:
        """The same for a CDP Fetch.requestPaused event at request stage."""
        request = event["request"]
        post = _post_data(request)
        kind = str(event.get("resourceType") or "other").lower()
        if not self.collect(request["url"], request["method"], post, kind):
            return False
        if self.send:
            await cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]})
        else:
            headers = [
                {"name": k, "value": v} for k, v in _cors(request.get("headers", {}).get("Origin")).items()
            ]
            answer = {"requestId": event["requestId"], "responseCode": 204, "responseHeaders": headers}
            await cdp.send("Fetch.fulfillRequest", answer)
        return True

    def _record(self, found: Collected, *, delivered: bool) -> None:
        for raw in found.hits:
            if len(self.entries) >= limits.MAX_RECORDED_REQUESTS:
                self.dropped += 1
                continue
            kind: Literal["hit", "tag"] = "hit" if found.kind == "collector" else "tag"
            self.entries.append(AnalyticsHit(
                vendor=raw.vendor, id=raw.id, event=raw.event, kind=kind,
                params=mask_params(raw.params, self.secrets), page_url=self._page_url, t_ms=self._now_ms(),
                navigation=len(self._navigation_starts) - 1, step=self._step, delivered=delivered,
            ))  # fmt: skip
        if found.kind == "collector":
            self.hit_seen.set()

    # ---- every request (observed, never paused) --------------------------------------------------

    def _on_request(self, request: Request) -> None:
        url = request.url
        if len(self._requests) < limits.MAX_RECORDED_REQUESTS:
            self._requests.append(SeenRequest(mask_text(mask_url(url), self.secrets), request.method))
        tag = tag_script(url)
        if tag is not None and len(self._tags) < limits.MAX_ANALYTICS_RULES:
            self._tags[request] = TagLoad(tag.vendor, tag.id, mask_text(mask_url(url), self.secrets))
            self._record(Collected("tag", (tag,)), delivered=True)

    def _on_response(self, response: Response) -> None:
        load = self._tags.get(response.request)
        if load is None:
            return
        refused = response.headers.get(EGRESS_HEADER.lower())  # our egress proxy answered, not the site
        ours = f"egress guard: {refused}" if refused else None
        self._tags[response.request] = replace(load, status=response.status, by_policy=ours)

    def _on_failed(self, request: Request) -> None:
        load = self._tags.get(request)
        if load is None:
            return
        failure = request.failure or "failed"
        ours = self._blocked.get(request.url) or (
            "blocked by the session's guards" if failure == _OURS else None
        )
        self._tags[request] = replace(load, failure=failure, by_policy=ours)

    # ---- the end ----------------------------------------------------------------------------------

    def take_vitals(self, raw: dict[str, Any] | None) -> None:
        """A snapshot of the observer's figures (the runner reads one at load with its timings)."""
        if not raw:
            return
        self._csp = [str(u) for u in raw.get("csp") or []]
        self.web_vitals = WebVitals(
            ttfb_ms=_ms(raw.get("ttfb")), fcp_ms=_ms(raw.get("fcp")), lcp_ms=_ms(raw.get("lcp")),
            cls=round(float(raw.get("cls") or 0), 4), inp_ms=_ms(raw.get("inp")),
        )  # fmt: skip

    async def settle(self, page: Page, remaining_ms: float, wait_ms: int) -> None:
        """Flush the page's batches and read the vitals again when anything can still change (steps
        ran, rules still wait or forbid), then wait (bounded) for what the rules expect."""
        flush = self.asked and (
            self._still_expected()
            or self._has_negative_rules()
            or bool(self.expect and self.expect.within_ms)
        )
        settled = self.web_vitals is not None and self.web_vitals.lcp_ms is not None
        if self.observe and (
            flush or self._steps_ran or not settled or self.spec.expect.web_vitals is not None
        ):
            try:
                self.take_vitals(await page.evaluate(_READ_AND_FLUSH_JS, flush))
                budget = self.spec.expect.web_vitals
                for _ in range(_LCP_POLLS):  # the LCP entry reaches the observer a moment after the paint
                    if budget is None or budget.lcp_ms is None or self.web_vitals is None:
                        break
                    if self.web_vitals.lcp_ms is not None:
                        break
                    await asyncio.sleep(0.1)
                    self.take_vitals(await page.evaluate(VITALS_SNAPSHOT_JS))
            except Exception as exc:  # the page went away: no vitals, nothing to flush
                log.debug("vitals: %s", exc)
        if not self.asked:
            return
        deadline = time.monotonic() + min(wait_ms, remaining_ms) / 1000
        while self._still_expected() and time.monotonic() < deadline:
            self.hit_seen.clear()
            try:
                await asyncio.wait_for(self.hit_seen.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        if self._has_negative_rules():
            await asyncio.sleep(min(limits.ANALYTICS_SETTLE_MS, remaining_ms) / 1000)

    def _still_expected(self) -> bool:
        verdict = judge(self.expect, self.spec.expect.requests, self.evidence(None))
        return any(p.type in _STILL_EXPECTED for p in verdict.problems)

    def _has_negative_rules(self) -> bool:
        counts = [r.count for r in self.spec.expect.requests]
        if self.expect is not None:
            counts += [e.count for e in self.expect.events]
            if self.expect.duplicates_checked():
                return True
        return any(c is not None and c.max is not None for c in counts)

    def evidence(self, policy_stop: str | None) -> Evidence:
        return Evidence(
            ledger=self.entries, tag_loads=list(self._tags.values()), requests=self._requests,
            navigation_starts_ms=self._navigation_starts, step_starts_ms=self._step_starts,
            policy_stop=policy_stop, csp_blocked=self._csp,
        )  # fmt: skip

    def verdict(self, policy_stop: str | None) -> AnalyticsVerdict | None:
        if not self.asked:
            return None
        return judge(self.expect, self.spec.expect.requests, self.evidence(policy_stop))

    def ledger(self) -> tuple[list[AnalyticsHit], int]:
        """The entries a result keeps, and how many past the cap it does not."""
        kept = self.entries[: limits.MAX_LEDGER_ENTRIES]
        return kept, self.dropped + len(self.entries) - len(kept)

    def _now_ms(self) -> int:
        return 0 if self._t0 is None else int((time.monotonic() - self._t0) * 1000)


def _post_data(request: dict[str, Any]) -> str | bytes | None:
    if "postData" in request:
        return str(request["postData"])
    entries = request.get("postDataEntries")
    if entries:
        return b"".join(base64.b64decode(e.get("bytes", "")) for e in entries)
    return None


def _cors(origin: str | None) -> dict[str, str]:
    # fetch(…, {credentials: 'include'}) to a collector needs these to settle quietly; beacons ignore them.
    if not origin:
        return {}
    return {"access-control-allow-origin": origin, "access-control-allow-credentials": "true"}


def _ms(value: Any) -> int | None:
    return None if value is None else max(0, round(float(value)))


def analytics_policy_stop(error: ErrorInfo | None) -> str | None:
    """Our own guard ended the session (max_bytes): what the rules miss is ours, not the site's."""
    if error is not None and error.type is ErrorType.BANDWIDTH_EXCEEDED:
        return f"max_bytes: {error.message}"
    return None


def analytics_error(
    spec: SessionSpec, capture: AnalyticsCapture, verdict: AnalyticsVerdict | None
) -> ErrorInfo | None:
    """The error of a session that ran cleanly but failed its analytics, request or Web Vitals rules."""
    if verdict is not None:
        failed = failure(verdict, capture.evidence(None), spec.expect.analytics is not None)
        if failed is not None:
            return ErrorInfo(type=failed[0], message=failed[1])
    if spec.expect.web_vitals is not None:
        over = over_budget(spec.expect.web_vitals, capture.web_vitals)
        if over:
            return ErrorInfo(type=ErrorType.EXPECTATION_FAILED, message="web_vitals: " + "; ".join(over))
    return None
