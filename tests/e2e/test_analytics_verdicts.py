"""The analytics verdict in real Chromium, one fixture case per problem type (and the clean pass).

Given `tag.html` on loopback with a fake gtag (served by the fixture site: it sends a GA4
page_view, batches queued events into one POST flushed on page hide, and can be made to 404,
stay silent, be late, carry a consent state or weigh 300 KB), when a session runs it with
analytics rules, then the verdict names exactly what is wrong, and blames our own guards
(blocked_by_policy) where they, not the site, stopped the tag.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import pytest

from jobcore.models import SessionResult, SessionSpec
from tests.support.browser_harness import BrowserHarness
from tests.support.fixture_site import FixtureSite
from tests.support.waiting import wait_until
from worker.analytics_capture import AnalyticsCapture
from worker.guards import SessionGuards

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PURCHASE = {
    "name": "purchase",
    "vendor": "ga4",
    "id": "G-SHOP",
    "count": 1,
    "params": {
        "transaction_id": {"equals": "T-1"},
        "value": {"equals": 42.5},
        "currency": {"matches": "^EUR$"},
        "dl": {"matches": "^http://127\\.0\\.0\\.1:"},
    },
}


def run(browser: BrowserHarness, site: FixtureSite, query: str, analytics: Any, **spec: Any) -> SessionResult:
    return browser.run({"url": site.url(f"/tag.html?{query}"), "expect": {"analytics": analytics}, **spec})


def types(result: SessionResult) -> list[str]:
    assert result.analytics_verdict is not None
    return [p.type for p in result.analytics_verdict.problems]


def test_ga4_page_view_and_batched_purchase_pass(browser: BrowserHarness, site: FixtureSite) -> None:
    rules = {
        "tags": [{"vendor": "ga4", "id": "G-SHOP"}],
        "events": [{"name": "page_view", "count": 1}, PURCHASE],
    }
    result = run(browser, site, "id=G-SHOP&purchase=T-1", rules)
    assert result.status == "ok", result.error
    assert result.analytics_verdict is not None and result.analytics_verdict.ok
    assert "ga4:G-SHOP" in result.analytics_verdict.tags_seen
    events = [(h.vendor, h.event) for h in result.analytics if h.kind == "hit"]
    assert events == [
        ("ga4", "page_view"),
        ("ga4", "purchase"),
        ("ga4", "add_shipping_info"),
    ]  # the whole batch
    purchase = next(h for h in result.analytics if h.event == "purchase")
    assert purchase.params["ep.transaction_id"] == "T-1" and purchase.params["value"] == 42.5
    assert purchase.params["email"] == "***"  # an e-mail address never reaches the result
    assert purchase.page_url == site.url("/tag.html?id=G-SHOP&purchase=T-1")
    assert purchase.delivered is False and purchase.t_ms is not None
    assert [h.event for h in result.analytics if h.kind == "tag"] == ["gtag.js"]

    wrong = dict(PURCHASE, params={"transaction_id": {"equals": "T-2"}})
    mismatch = run(browser, site, "id=G-SHOP&purchase=T-1", {"events": [wrong]})
    assert mismatch.error is not None and mismatch.error.type == "expectation_failed"
    assert types(mismatch) == ["param_mismatch"]
    problem = mismatch.analytics_verdict.problems[0]  # type: ignore[union-attr]
    assert problem.expected == "equals 'T-2'" and problem.seen == "'T-1'"
    assert "expect.analytics.events[0]" in mismatch.error.message


def test_same_id_installed_twice_is_a_duplicate(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(browser, site, "id=G-DUP&twice=1", {"tags": [{"vendor": "ga4", "id": "G-DUP"}]})
    assert result.status == "failed"
    assert types(result) == ["duplicate_hit"]
    once = run(browser, site, "id=G-DUP", {"tags": [{"vendor": "ga4", "id": "G-DUP"}]})
    assert once.status == "ok"


def test_tag_script_404_is_not_loaded(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(browser, site, "id=G-GONE&status=404", {"tags": [{"vendor": "ga4", "id": "G-GONE"}]})
    assert result.error is not None and result.error.type == "analytics_not_detected"
    assert types(result) == ["tag_not_loaded"]
    assert result.analytics_verdict.problems[0].status == 404  # type: ignore[union-attr]
    assert "HTTP 404" in result.error.message


def test_tag_loaded_but_silent(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(browser, site, "id=G-QUIET&silent=1", {"tags": [{"vendor": "ga4", "id": "G-QUIET"}]})
    assert result.error is not None and result.error.type == "analytics_not_detected"
    assert types(result) == ["tag_loaded_no_hit"]


def test_consent_state_mismatch(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(browser, site, "id=G-CONSENT&gcs=G100", {"consent": "G111"})
    assert result.error is not None and result.error.type == "expectation_failed"
    assert types(result) == ["consent_mismatch"]
    assert "G100" in result.error.message
    assert run(browser, site, "id=G-CONSENT&gcs=G111", {"consent": "G111"}).status == "ok"


def test_hit_after_6_s_is_late(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(
        browser, site, "id=G-SLOW&delay=6000", {"events": [{"name": "page_view"}], "within_ms": 3000},
        steps=[{"action": "wait", "ms": 6500}],
    )  # fmt: skip
    assert types(result) == ["late_hit"]
    late = result.analytics_verdict.problems[0]  # type: ignore[union-attr]
    assert late.seen is not None and int(late.seen.split()[0]) >= 6000


def test_image_pixel_is_recorded_despite_default_block(browser: BrowserHarness, site: FixtureSite) -> None:
    before = site.requests_to("/tr?")
    result = run(browser, site, "id=G-PX&pixel=PX1", {"tags": [{"vendor": "meta_pixel", "id": "PX1"}]})
    assert result.status == "ok", result.error
    assert ("meta_pixel", "PX1", "PageView") in [(h.vendor, h.id, h.event) for h in result.analytics]
    assert site.requests_to("/tr?") == before  # answered by the worker, not sent


def test_max_bytes_cutting_the_tag_is_our_policy(browser: BrowserHarness, site: FixtureSite) -> None:
    result = run(browser, site, "id=G-BIG&pad=300000", {"tags": [{"vendor": "ga4", "id": "G-BIG"}]},
                 max_bytes=40_000)  # fmt: skip
    assert result.error is not None and result.error.type == "bandwidth_exceeded"
    assert types(result) == ["blocked_by_policy"]
    assert "max_bytes" in result.analytics_verdict.problems[0].message  # type: ignore[union-attr]

    blocked = run(browser, site, "id=G-BLK", {"tags": [{"vendor": "ga4", "id": "G-BLK"}]}, block=["script"])
    assert types(blocked) == ["blocked_by_policy"]
    assert "block list" in blocked.analytics_verdict.problems[0].message  # type: ignore[union-attr]


def test_forbidden_request_that_happens(browser: BrowserHarness, site: FixtureSite) -> None:
    rules = {"requests": [{"url": "*/forbidden/*", "count": 0}]}
    made = browser.run({"url": site.url("/tag.html?forbidden=1"), "expect": rules})
    assert made.error is not None and made.error.type == "expectation_failed"
    assert types(made) == ["request_assertion"]
    assert "/forbidden/track" in made.error.message
    clean = browser.run({"url": site.url("/tag.html"), "expect": rules})
    assert clean.status == "ok" and clean.analytics_verdict is not None and clean.analytics_verdict.ok


def test_lcp_and_inp_over_budget(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/tag.html?lcp=1200"), "expect": {"web_vitals": {"lcp_ms": 800}},
                          "steps": [{"action": "wait", "ms": 1500}]})  # fmt: skip
    assert result.web_vitals is not None and result.web_vitals.lcp_ms is not None
    assert result.web_vitals.lcp_ms >= 1200
    assert result.error is not None and result.error.type == "expectation_failed"
    assert "lcp_ms" in result.error.message and "800" in result.error.message
    fast = browser.run({"url": site.url("/tag.html"), "expect": {"web_vitals": {"lcp_ms": 800, "cls": 0.1}}})
    assert fast.status == "ok", fast.error
    assert (
        fast.web_vitals is not None
        and fast.web_vitals.fcp_ms is not None
        and fast.web_vitals.ttfb_ms is not None
    )


async def _cdp_session(
    browser: BrowserHarness, url: str, delivery: str
) -> tuple[AnalyticsCapture, list[str]]:
    """The capture driven the way the request-stage network path drives it: CDP Fetch pauses only
    `url_patterns()`, and each paused request goes to `handle_cdp_paused` (else it continues)."""
    spec = SessionSpec.model_validate({"url": url, "analytics_delivery": delivery})
    capture, paused, tasks = AnalyticsCapture(spec, []), [], set()
    assert browser.pool is not None
    egress = await browser.runner.open_egress(spec, SessionGuards(spec))  # every context goes through it
    async with browser.pool.browser() as pooled:
        context = await pooled.browser.new_context(**browser.runner.context_options(spec, egress))
        try:
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)

            async def handle(event: dict[str, Any]) -> None:
                paused.append(event["request"]["url"])
                if not await capture.handle_cdp_paused(cdp, event):
                    await cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]})

            cdp.on("Fetch.requestPaused", lambda e: tasks.add(asyncio.ensure_future(handle(e))))
            await cdp.send("Fetch.enable", {"patterns": capture.url_patterns()})
            capture.navigation_started()
            await page.goto(url)
            await asyncio.wait_for(capture.hit_seen.wait(), 5)
            await page.wait_for_timeout(300)
        finally:
            await context.close()
            egress.close()
    return capture, paused


def test_cdp_request_stage_path_pauses_and_answers_only_collectors(
    browser: BrowserHarness, site: FixtureSite
) -> None:
    url = site.url("/tag.html?id=G-CDP&pixel=PX9")
    before = len(site.beacons()), site.requests_to("/tr?")
    capture, paused = browser.loop.run(_cdp_session(browser, url, "answer"))
    hits = {(h.vendor, h.id, h.event, h.delivered) for h in capture.entries if h.kind == "hit"}
    assert hits == {("ga4", "G-CDP", "page_view", False), ("meta_pixel", "PX9", "PageView", False)}
    assert sorted(urlsplit(u).path for u in paused) == ["/g/collect", "/tr"]  # not the page, not gtag.js
    assert (len(site.beacons()), site.requests_to("/tr?")) == before

    capture, _ = browser.loop.run(_cdp_session(browser, url, "send"))
    assert all(h.delivered for h in capture.entries if h.kind == "hit")
    wait_until(lambda: site.requests_to("/tr?") > before[1], 3, "the pixel's request", interval=0.05)
    assert (len(site.beacons()), site.requests_to("/tr?")) == (before[0] + 1, before[1] + 1)
