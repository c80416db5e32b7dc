# ruff: noqa: E501  (one request per row reads better than wrapped URLs)
"""The collector table: a request in, every hit it carries (vendor, id, event, params) out — on any host."""

from __future__ import annotations

import json
import re

import pytest

from jobcore.analytics import collector_url_patterns, detect, mask_params, parse_request


@pytest.mark.parametrize(
    ("url", "method", "body", "expected"),
    [
        ("https://www.google-analytics.com/g/collect?v=2&tid=G-ABC123&en=page_view", "POST", None,
         [("ga4", "G-ABC123", "page_view")]),
        ("http://127.0.0.1:8080/g/collect?v=2&tid=G-TEST&en=page_view", "POST", None,
         [("ga4", "G-TEST", "page_view")]),
        ("https://region1.google-analytics.com/g/collect?v=2&tid=G-X", "POST", "en=scroll&ep.x=1\nen=click\nen=purchase",
         [("ga4", "G-X", "scroll"), ("ga4", "G-X", "click"), ("ga4", "G-X", "purchase")]),
        ("https://sgtm.shop.example/g/collect?v=2&tid=G-SS&en=page_view", "GET", None,  # server-side tagging
         [("ga4", "G-SS", "page_view")]),
        ("https://www.google-analytics.com/collect?v=1&tid=UA-1-1&t=pageview", "GET", None,
         [("universal_analytics", "UA-1-1", "pageview")]),
        ("https://www.google-analytics.com/r/collect", "POST", "v=1&tid=UA-9-2&t=event&ea=signup",
         [("universal_analytics", "UA-9-2", "signup")]),
        ("https://www.google-analytics.com/batch", "POST", "v=1&tid=UA-3-1&t=pageview\nv=1&tid=UA-3-1&t=event&ea=buy",
         [("universal_analytics", "UA-3-1", "pageview"), ("universal_analytics", "UA-3-1", "buy")]),
        ("https://api.segment.io/v1/t", "POST", json.dumps({"writeKey": "wk1", "event": "Signed Up", "type": "track"}),
         [("segment", "wk1", "Signed Up")]),
        ("https://api.segment.io/v1/batch", "POST", json.dumps({"writeKey": "wk2", "batch": [{"type": "page"}, {"type": "track", "event": "Buy"}]}),
         [("segment", "wk2", "page"), ("segment", "wk2", "Buy")]),
        ("https://plausible.io/api/event", "POST", json.dumps({"n": "pageview", "d": "example.com", "u": "/"}),
         [("plausible", "example.com", "pageview")]),
        ("https://stats.example.org/matomo.php?idsite=3&rec=1&action_name=Home", "GET", None,
         [("matomo", "3", "pageview")]),
        ("https://stats.example.org/piwik.php", "POST", "idsite=7&rec=1&e_c=video&e_a=play",
         [("matomo", "7", "play")]),
        ("https://www.facebook.com/tr/?id=123&ev=PageView&dl=https%3A%2F%2Fshop%2F", "GET", None,
         [("meta_pixel", "123", "PageView")]),
    ],
)  # fmt: skip
def test_collectors(url: str, method: str, body: str | None, expected: list[tuple[str, str, str]]) -> None:
    found = parse_request(url, method, body)
    assert found is not None and found.kind == "collector"
    assert [(h.vendor, h.id, h.event) for h in found.hits] == expected
    assert any(_cdp_glob(g).fullmatch(url) for g in collector_url_patterns())  # the network path pauses it


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.googletagmanager.com/gtm.js?id=GTM-ABCD", ("google_tag_manager", "GTM-ABCD", "gtm.js")),
        ("https://www.googletagmanager.com/gtag/js?id=G-ABC", ("gtag", "G-ABC", "gtag.js")),
        ("https://connect.facebook.net/en_US/fbevents.js", ("meta_pixel", None, "fbevents.js")),
        (
            "https://cdn.segment.com/analytics.js/v1/KEY1/analytics.min.js",
            ("segment", "KEY1", "analytics.min.js"),
        ),
    ],
)
def test_tag_scripts_are_tags_never_paused(url: str, expected: tuple[str, str | None, str]) -> None:
    found = parse_request(url)
    assert found is not None and found.kind == "tag"
    assert (found.hits[0].vendor, found.hits[0].id, found.hits[0].event) == expected
    assert not any(
        _cdp_glob(g).fullmatch(url) for g in collector_url_patterns()
    )  # they load from the network


def test_ga4_params_as_sent_and_by_plain_name() -> None:
    found = parse_request(
        "https://region1.google-analytics.com/g/collect?v=2&tid=G-1&dl=https%3A%2F%2Fshop%2F&cu=EUR",
        "POST", "en=purchase&ep.transaction_id=T-1&epn.value=42.5\nen=page_view",
    )  # fmt: skip
    assert found is not None
    purchase, page_view = found.hits
    assert purchase.params["dl"] == "https://shop/" and purchase.params["cu"] == "EUR"
    assert purchase.params["ep.transaction_id"] == "T-1" and purchase.params["transaction_id"] == "T-1"
    assert purchase.params["epn.value"] == "42.5" and purchase.params["value"] == 42.5
    assert "transaction_id" not in page_view.params  # each line carries its own event parameters


def test_params_are_masked_and_capped() -> None:
    masked = mask_params(
        {"email": "jane.doe@example.com", "dl": "https://shop/?u=a@b.io&x=1", "token": "s3cret-xyz", "n": 3.0,
         "long": "x" * 5000, **{f"p{i}": "v" for i in range(100)}},
        ["s3cret-xyz"],
    )  # fmt: skip
    assert masked["email"] == "***" and masked["dl"] == "https://shop/?u=***&x=1"
    assert masked["token"] == "***" and masked["n"] == 3.0
    assert len(str(masked["long"])) == 200 and len(masked) == 60


def test_user_collector_pattern() -> None:
    url = "https://t.example/track/e?event=signup&id=acct-9"
    assert parse_request(url) is None
    found = parse_request(url, custom=["*/track/*"])
    assert found is not None and [(h.vendor, h.id, h.event) for h in found.hits] == [
        ("custom", "acct-9", "signup")
    ]
    assert "*/track/*" in collector_url_patterns(["*/track/*"])


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/collect",  # a bare /collect without UA's tid is someone else's endpoint
        "https://example.com/api/events",
        "https://example.com/gtm.json",
        "https://example.com/style.css",
        "ftp://example.com/g/collect?tid=G-1",
        "https://example.com/matomo.php",  # no idsite
        "https://example.com/tr/?id=1",  # a Meta pixel hit names its event
    ],
)
def test_not_collectors(url: str) -> None:
    assert parse_request(url, "GET", None) is None


def test_garbage_bodies_do_not_raise() -> None:
    assert parse_request("https://plausible.io/api/event", "POST", "{not json") is None
    hit = detect("https://api.segment.io/v1/t", "POST", b"\xff\xfe")
    assert hit is not None and (hit.vendor, hit.id, hit.event) == ("segment", None, None)


def _cdp_glob(pattern: str) -> re.Pattern[str]:
    """CDP Fetch urlPattern semantics: * any run, ? one character, backslash escapes."""
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 2
            continue
        out += ".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
        i += 1
    return re.compile(out)
