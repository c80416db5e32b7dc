# ruff: noqa: E501  (one request per row reads better than wrapped URLs)
"""The collector table: a request in, a hit (vendor, id, event) or None out — on any host."""

from __future__ import annotations

import json

import pytest

from jobcore.analytics import detect, is_collector_path
from jobcore.models import AnalyticsHit


@pytest.mark.parametrize(
    ("url", "method", "body", "expected"),
    [
        ("https://www.google-analytics.com/g/collect?v=2&tid=G-ABC123&en=page_view", "POST", None,
         AnalyticsHit(vendor="ga4", id="G-ABC123", event="page_view")),
        ("http://127.0.0.1:8080/g/collect?v=2&tid=G-TEST&en=page_view", "POST", None,
         AnalyticsHit(vendor="ga4", id="G-TEST", event="page_view")),
        ("https://region1.google-analytics.com/g/collect?v=2&tid=G-X", "POST", "en=scroll&ep.x=1\nen=click",
         AnalyticsHit(vendor="ga4", id="G-X", event="scroll")),
        ("https://www.google-analytics.com/collect?v=1&tid=UA-1-1&t=pageview", "GET", None,
         AnalyticsHit(vendor="universal_analytics", id="UA-1-1", event="pageview")),
        ("https://www.google-analytics.com/r/collect", "POST", "v=1&tid=UA-9-2&t=event&ea=signup",
         AnalyticsHit(vendor="universal_analytics", id="UA-9-2", event="signup")),
        ("https://www.googletagmanager.com/gtm.js?id=GTM-ABCD", "GET", None,
         AnalyticsHit(vendor="google_tag_manager", id="GTM-ABCD", event="gtm.js")),
        ("https://www.googletagmanager.com/gtag/js?id=G-ABC", "GET", None,
         AnalyticsHit(vendor="gtag", id="G-ABC", event="gtag.js")),
        ("https://api.segment.io/v1/t", "POST", json.dumps({"writeKey": "wk1", "event": "Signed Up", "type": "track"}),
         AnalyticsHit(vendor="segment", id="wk1", event="Signed Up")),
        ("https://api.segment.io/v1/batch", "POST", json.dumps({"writeKey": "wk2", "batch": [{"type": "page"}]}),
         AnalyticsHit(vendor="segment", id="wk2", event="page")),
        ("https://plausible.io/api/event", "POST", json.dumps({"n": "pageview", "d": "example.com", "u": "/"}),
         AnalyticsHit(vendor="plausible", id="example.com", event="pageview")),
        ("https://stats.example.org/matomo.php?idsite=3&rec=1&action_name=Home", "GET", None,
         AnalyticsHit(vendor="matomo", id="3", event="pageview")),
        ("https://stats.example.org/piwik.php", "POST", "idsite=7&rec=1&e_c=video&e_a=play",
         AnalyticsHit(vendor="matomo", id="7", event="play")),
    ],
)  # fmt: skip
def test_collectors(url: str, method: str, body: str | None, expected: AnalyticsHit) -> None:
    assert detect(url, method, body) == expected
    assert is_collector_path(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/collect",  # a bare /collect without UA's tid is someone else's endpoint
        "https://example.com/api/events",
        "https://example.com/gtm.json",
        "https://example.com/style.css",
        "ftp://example.com/g/collect?tid=G-1",
        "https://example.com/matomo.php",  # no idsite
    ],
)
def test_not_collectors(url: str) -> None:
    assert detect(url, "GET", None) is None


def test_garbage_bodies_do_not_raise() -> None:
    assert detect("https://plausible.io/api/event", "POST", "{not json") is None
    assert detect("https://api.segment.io/v1/t", "POST", b"\xff\xfe") == AnalyticsHit(vendor="segment")
