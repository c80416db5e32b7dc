# ruff: noqa: E501  (one body per row reads better than wrapped dicts)
"""POST /jobs with analytics, request and Web Vitals rules: refused with a 400 naming the field, nothing
queued, when a rule cannot be judged; accepted (and stored as given) when it can."""

from __future__ import annotations

import json
from typing import Any

import pytest

import api_service
from tests.functional.test_handlers_with_events import call_api, env, event

__all__ = ["env"]  # the fixture, used by name below


def post(session: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    evt = event("post_jobs")
    evt["headers"].pop("Idempotency-Key", None)
    evt["multiValueHeaders"].pop("Idempotency-Key", None)
    evt["body"] = json.dumps({"sessions": [{"url": "http://127.0.0.1:8081/light.html", **session}]})
    return call_api(evt)


def queued() -> int:
    """Every key in Redis but the API's own request counters: a refused job writes none."""
    keys = api_service.service().queue.r.scan_iter(count=1000)
    names = (k.decode() if isinstance(k, bytes) else str(k) for k in keys)  # as the client's decoding has it
    return sum(1 for k in names if "telemetry" not in k and "totals" not in k)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("expect", "field", "words"),
    [
        ({"analytics": {"tags": [{"vendor": "adobe", "id": "X"}]}}, "sessions[0].expect.analytics.tags[0].vendor", "Input should be"),
        ({"analytics": {"events": [{"name": "purchase", "params": {"dl": {"matches": "(a+)+$"}}}]}}, "sessions[0].expect.analytics.events[0].params.dl.matches", "nested quantifiers"),
        ({"analytics": {"events": [{"name": "purchase", "params": {"dl": {"matches": "(unclosed"}}}]}}, "sessions[0].expect.analytics.events[0].params.dl.matches", "does not compile"),
        ({"analytics": {"events": [{"name": "purchase", "params": {"dl": {"matches": "x" * 201}}}]}}, "sessions[0].expect.analytics.events[0].params.dl.matches", "200"),
        ({"analytics": {"events": [{"name": "purchase", "count": {"min": 3, "max": 1}}]}}, "sessions[0].expect.analytics.events[0].count", "min 3 is greater than max 1"),
        ({"requests": [{"url": "*/pixel*", "count": {"min": 2, "max": 0}}]}, "sessions[0].expect.requests[0].count", "min 2 is greater than max 0"),
        ({"web_vitals": {"lcp_ms": -1}}, "sessions[0].expect.web_vitals.lcp_ms", "greater than or equal"),
    ],
)  # fmt: skip
def test_a_rule_that_cannot_be_judged_is_a_400_naming_the_field(
    expect: dict[str, Any], field: str, words: str
) -> None:
    before = queued()
    status, body = post({"expect": expect})
    assert status == 400, body
    assert body["error"]["field"] == field
    assert words in body["error"]["message"]
    assert queued() == before


@pytest.mark.usefixtures("env")
def test_rules_that_can_be_judged_are_accepted() -> None:
    rules = {
        "analytics": {"tags": [{"vendor": "ga4", "id": "G-1"}], "events": [{"name": "purchase", "count": 1,
                      "params": {"transaction_id": {"equals": "T-1"}, "dl": {"matches": "^https://"}}}],
                      "consent": "G111", "within_ms": 3000},
        "requests": [{"url": "*/forbidden/*", "count": 0}],
        "web_vitals": {"lcp_ms": 2500, "cls": 0.1},
    }  # fmt: skip
    status, body = post({"expect": rules, "analytics_delivery": "send"})
    assert status == 202, body
    assert post({"expect": {"analytics": True}})[0] == 202
