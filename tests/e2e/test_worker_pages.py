"""Sessions against the fixture pages in real Chromium, checked field by field.

Given a fixture page on loopback, when the worker's runner runs a session on it,
then the SessionResult says exactly what happened. Every request goes to
127.0.0.1 (allowed) or to addresses the tests' policy denies (which the guard
must stop before Chromium connects: the canary server on 127.0.0.2 counts leaks).
"""

from __future__ import annotations

import pytest

from jobcore import limits
from jobcore.analytics import detect
from jobcore.models import SessionResult
from tests.support.browser_harness import BrowserHarness
from tests.support.fixture_site import FixtureSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def hits(result: SessionResult) -> list[tuple[str, str | None, str | None]]:
    """The collector hits of the ledger as (vendor, id, event)."""
    return [(h.vendor, h.id, h.event) for h in result.analytics if h.kind == "hit"]


def test_light_page_with_beacon(browser: BrowserHarness, site: FixtureSite) -> None:
    url = site.url("/light.html")
    result = browser.run({"url": url, "expect": {"analytics": True}}, index=3, attempt=1)
    assert result.status == "ok"
    assert result.error is None
    assert result.index == 3
    assert result.url == url
    assert result.http_status == 200
    assert result.final_url == url
    assert hits(result) == [("ga4", "G-TEST", "page_view")]
    assert result.requests == 2  # the document and the beacon
    assert result.blocked_requests == 0
    assert 300 < result.bytes_in < 5_000
    assert result.timings_ms.ttfb is not None and result.timings_ms.ttfb >= 0
    assert result.timings_ms.load is not None and result.timings_ms.load >= (result.timings_ms.ttfb or 0)
    assert result.timings_ms.total is not None and result.timings_ms.total > 0
    assert result.console_errors == []
    assert result.screenshot_url is None
    assert result.attempts == 1


def test_user_agent_is_chromium_own_plus_token(browser: BrowserHarness, site: FixtureSite) -> None:
    browser.run({"url": site.url("/light.html?ua")})
    assert browser.pool is not None and browser.pool.user_agent is not None
    assert browser.pool.user_agent.endswith(" traffic-tool/0.1")
    assert "Chrome/" in browser.pool.user_agent


def test_heavy_page_guarded_under_300_kb_with_beacon(browser: BrowserHarness, site: FixtureSite) -> None:
    guarded = browser.run({"url": site.url("/heavy.html"), "expect": {"analytics": True}})
    assert guarded.status == "ok"
    assert guarded.bytes_in < limits.BANDWIDTH_TARGET_BYTES
    assert guarded.bytes_in > 100_000  # HTML, CSS and JS still load: the guard cut only the heavy types
    assert guarded.blocked_requests == 7  # 4 images, 2 fonts, 1 video
    assert hits(guarded) == [("ga4", "G-HEAVY", "page_view")]

    unguarded = browser.run({"url": site.url("/heavy.html"), "block": [], "expect": {"analytics": True}})
    assert unguarded.status == "ok"
    assert unguarded.blocked_requests == 0
    # Wire bytes are real: what arrived of the 4.2 MB before the load event ended the session (the video
    # only as far as the player read it).
    assert unguarded.bytes_in > 2_000_000


def test_max_bytes_ends_the_session(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/heavy.html"), "block": [], "max_bytes": 500_000})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "bandwidth_exceeded"
    assert result.bytes_in > 500_000


def test_block_urls_never_blocks_analytics(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/light.html"), "block_urls": ["*/g/*", "collect"]})
    assert hits(result) == [("ga4", "G-TEST", "page_view")]
    assert result.blocked_requests == 0


def test_redirect_chain(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/redirect/3")})
    assert result.status == "ok"
    assert result.http_status == 200
    assert result.final_url == site.url("/light.html")
    assert result.requests == 5  # 3 hops, the page, its beacon
    assert result.analytics[0].id == "G-TEST"


def test_404_is_http_error(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/status?code=404")})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "http_error"
    assert "404" in result.error.message
    assert result.http_status == 404


def test_404_expected(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/status?code=404"), "expect": {"status": 404}})
    assert result.status == "ok"
    assert result.http_status == 404
    wrong = browser.run({"url": site.url("/light.html"), "expect": {"status": 404}})
    assert wrong.error is not None and wrong.error.type == "expectation_failed"


def test_slow_server_navigation_timeout(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/slow?s=20"), "timeout_s": 2})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "navigation_timeout"
    assert result.http_status is None


@pytest.mark.parametrize("page", ["/loop.html", "/alerts.html"])  # a main thread that never yields; alert()s
def test_a_hung_page_ends_at_its_timeout_and_the_worker_keeps_serving(
    browser: BrowserHarness, site: FixtureSite, page: str
) -> None:
    result = browser.run({"url": site.url(page), "timeout_s": 2})
    assert result.status == "failed"
    # Both name the deadline: Playwright's navigation timeout and the session's (50 ms later) race on a
    # renderer that never answers; `make bench-guards` prints which won and how long the slot was held.
    assert result.error is not None and result.error.type in ("navigation_timeout", "session_timeout")
    assert browser.run({"url": site.url("/light.html")}).status == "ok"


def test_memory_bomb_fails_only_that_session(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/bomb.html"), "timeout_s": 20})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "browser_crash"
    assert browser.run({"url": site.url("/light.html")}).status == "ok"


def test_popup_storm_is_contained(browser: BrowserHarness, site: FixtureSite) -> None:
    before = site.requests_to("/light.html?storm")
    result = browser.run({"url": site.url("/popups.html")})
    assert result.status == "ok"
    assert result.popups == 0  # 50 window.open calls without a gesture: none opened
    assert site.requests_to("/light.html?storm") == before
    # A click is a gesture: a popup opens (it consumes the gesture, so one of the 30), and is closed at once.
    # The browser announces the popup after the click returns; the wait keeps the session open until it has
    # (on a loaded machine the announcement came after the session ended once in a few runs).
    clicked = browser.run(
        {
            "url": site.url("/popups.html"),
            "steps": [{"action": "click", "selector": "#open"}, {"action": "wait", "ms": 1500}],
        }
    )
    assert clicked.status == "ok"
    assert clicked.popups == 1
    assert browser.run({"url": site.url("/light.html")}).status == "ok"


def test_fifty_alerts_then_render_completes(browser: BrowserHarness, site: FixtureSite) -> None:
    # every dialog is dismissed; leaving the 21st open froze the page until the session timed out
    result = browser.run(
        {"url": site.url("/alerts50.html"), "timeout_s": 10, "expect": {"selector": "#rendered"}}
    )
    assert result.status == "ok", result.error
    assert result.http_status == 200


def test_download_refused(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/download.html")})
    assert result.status == "ok"
    assert result.final_url == site.url("/download.html")
    direct = browser.run({"url": site.url("/file.bin")})
    assert direct.status == "failed"
    assert direct.error is not None and direct.error.type == "expectation_failed"
    assert "download" in direct.error.message


def test_analytics_only_after_scroll_step(browser: BrowserHarness, site: FixtureSite) -> None:
    without = browser.run({"url": site.url("/scroll.html"), "expect": {"analytics": True}})
    assert without.status == "failed"
    assert without.error is not None and without.error.type == "analytics_not_detected"
    assert without.analytics == []
    with_scroll = browser.run(
        {
            "url": site.url("/scroll.html"),
            "expect": {"analytics": True},
            "steps": [{"action": "scroll", "y": 1200}],
        }
    )
    assert with_scroll.status == "ok"
    assert hits(with_scroll) == [("ga4", "G-SCROLL", "scroll")]


@pytest.mark.parametrize("host", ["127.0.0.2", "0177.0.0.2", "[::1]", "2130706434"])
def test_redirect_to_denied_loopback_is_blocked(
    browser: BrowserHarness, site: FixtureSite, canary: FixtureSite, host: str
) -> None:
    before = len(canary.hits)
    target = f"http://{host}:{canary.port}/light.html"
    result = browser.run({"url": site.url(f"/to?u={target}")})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "blocked_target"
    assert result.blocked_requests == 1
    assert result.analytics == []
    assert len(canary.hits) == before  # Chromium never connected


@pytest.mark.parametrize("host", ["127.0.0.2", "0177.0.0.2", "[::1]"])
def test_websocket_to_denied_loopback_is_refused_before_connecting(
    browser: BrowserHarness, site: FixtureSite, canary: FixtureSite, host: str
) -> None:
    before = len(canary.hits)
    target = f"ws://{host}:{canary.port}/ws-probe"
    result = browser.run(
        {
            "url": site.url(f"/ws.html?ws={target}"),
            "timeout_s": 5,
            "expect": {"selector": "#state:text-matches('^closed')"},
        }
    )
    assert result.status == "ok", result.error  # the page goes on; its WebSocket's tunnel was refused
    assert result.blocked_requests == 1
    assert len(canary.hits) == before  # Chromium never connected


def test_websocket_to_allowed_host_is_connected(browser: BrowserHarness, site: FixtureSite) -> None:
    before = site.requests_to("/ws-allowed")
    # the fixture server answers the handshake with 404, so the socket fails, but only after connecting
    result = browser.run(
        {
            "url": site.url(f"/ws.html?ws=ws://127.0.0.1:{site.port}/ws-allowed"),
            "timeout_s": 5,
            "expect": {"selector": "#state:text-matches('closed|open')"},
        }
    )
    assert result.status == "ok", result.error
    assert result.blocked_requests == 0
    assert site.requests_to("/ws-allowed") == before + 1


def test_metadata_address_refused_before_any_request(browser: BrowserHarness) -> None:
    result = browser.run({"url": "http://169.254.169.254/latest/meta-data/"})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "blocked_target"
    assert "metadata" in result.error.message
    assert result.requests == 0  # refused by the pre-check: no context, no request


def test_unresolvable_host_is_dns_error(browser: BrowserHarness) -> None:
    result = browser.run({"url": "http://does-not-exist.test/"})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "dns_error"


def test_fresh_context_per_session(browser: BrowserHarness, site: FixtureSite) -> None:
    # storage.html shows what earlier visits left (cookie, localStorage, sessionStorage), then leaves its own.
    first = browser.run({"url": site.url("/storage.html")})
    assert first.status == "ok"
    clean = '#before:text(\'{"cookie":"","local":null,"session":null}\')'
    second = browser.run({"url": site.url("/storage.html"), "timeout_s": 3, "expect": {"selector": clean}})
    assert second.status == "ok", second.error
    # The server's cookie is not sent back by a later session either.
    browser.run({"url": site.url("/cookies.html")})
    later = browser.run(
        {"url": site.url("/cookies.html"), "timeout_s": 3, "expect": {"selector": "#seen:text('visit=')"}}
    )
    assert later.status == "failed"
    assert later.error is not None and later.error.type == "expectation_failed"


def test_steps_fill_press_hover_click(browser: BrowserHarness, site: FixtureSite) -> None:
    steps = [
        {"action": "fill", "selector": "#q", "value": "hello"},
        {"action": "press", "selector": "#q", "key": "End"},
        {"action": "hover", "selector": "#go"},
        {"action": "click", "selector": "#go"},
        {"action": "wait", "ms": 100},
    ]
    result = browser.run({"url": site.url("/light.html"), "steps": steps})
    assert result.status == "ok"
    assert ("ga4", "G-TEST", "click") in hits(result)
    missing = browser.run(
        {
            "url": site.url("/light.html"),
            "steps": [{"action": "click", "selector": "#nope", "timeout_ms": 300}],
        }
    )
    assert missing.status == "failed"
    assert missing.error is not None and missing.error.type == "step_failed"
    assert "step 1" in missing.error.message


def test_detector_agrees_with_fixture_beacon(site: FixtureSite) -> None:
    hit = detect(site.url("/g/collect?v=2&tid=G-TEST&en=page_view"), "POST")
    assert hit is not None and (hit.vendor, hit.id, hit.event) == ("ga4", "G-TEST", "page_view")
