# ruff: noqa: E501  (one rule per row reads better than wrapped dicts)
"""The verdict, judged from evidence alone: given a ledger (and tag loads, requests, timing), when the
rules are applied, then each problem has the right type and a message a person understands."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jobcore.analytics_models import AnalyticsExpect, AnalyticsHit, RequestRule
from jobcore.analytics_verdict import Evidence, SeenRequest, TagLoad, failure, judge
from jobcore.bounded_regex import UnsafeRegexError, check_bounded_regex
from jobcore.errors import ErrorType
from jobcore.models import SessionSpec


def hit(event: str, ident: str = "G-1", vendor: str = "ga4", **fields: Any) -> AnalyticsHit:
    return AnalyticsHit(vendor=vendor, id=ident, event=event, **fields)


def rules(**body: Any) -> AnalyticsExpect:
    return AnalyticsExpect.model_validate(body)


def kinds(
    expect: AnalyticsExpect | None, ev: Evidence, requests: list[RequestRule] | None = None
) -> list[str]:
    return [p.type.value for p in judge(expect, requests or [], ev).problems]


def test_any_hit_true_passes_with_a_hit_and_explains_its_absence() -> None:
    assert kinds(rules(), Evidence([hit("page_view")])) == []
    verdict = judge(rules(), [], Evidence([]))
    assert [p.type for p in verdict.problems] == ["event_missing"]
    assert failure(verdict, Evidence([]), analytics_asked=True) == (
        ErrorType.ANALYTICS_NOT_DETECTED, "expect.analytics: no analytics collector request was seen",
    )  # fmt: skip


def test_the_same_event_twice_is_a_duplicate_only_without_a_step_between() -> None:
    twice = Evidence([hit("page_view"), hit("page_view")])
    assert kinds(rules(tags=[{"vendor": "ga4", "id": "G-1"}]), twice) == ["duplicate_hit"]
    assert kinds(rules(tags=[{"vendor": "ga4", "id": "G-1"}], no_duplicates=False), twice) == []
    clicks = Evidence([hit("click", step=1), hit("click", step=2)])
    assert kinds(rules(tags=[{"vendor": "ga4", "id": "G-1"}]), clicks) == []
    reload = Evidence([hit("page_view"), hit("page_view", navigation=1)], navigation_starts_ms=[0, 900])
    assert kinds(rules(tags=[{"vendor": "ga4"}]), reload) == []


def test_counts_and_must_not_fire() -> None:
    ev = Evidence([hit("page_view"), hit("purchase"), hit("purchase", step=1)])
    assert kinds(rules(events=[{"name": "purchase", "count": 1}]), ev) == ["event_count"]
    assert kinds(rules(events=[{"name": "purchase", "count": {"min": 1, "max": 2}}]), ev) == []
    verdict = judge(rules(events=[{"name": "refund", "count": 0}, {"name": "purchase", "count": 0}]), [], ev)
    assert [p.type for p in verdict.problems] == ["event_count"]
    assert "must not fire, it fired 2 times" in verdict.problems[0].message


def test_params_equal_match_and_exist() -> None:
    ev = Evidence([hit("purchase", params={"transaction_id": "T-1", "value": 42.0, "dl": "https://shop/"})])
    good = {"transaction_id": {"equals": "T-1"}, "value": {"equals": 42}, "dl": {"matches": "^https://"},
            "coupon": {"exists": False}}  # fmt: skip
    assert kinds(rules(events=[{"name": "purchase", "params": good}]), ev) == []
    verdict = judge(rules(events=[{"name": "purchase", "params": {"value": {"equals": 40}}}]), [], ev)
    problem = verdict.problems[0]
    assert (problem.type, problem.expected, problem.seen) == ("param_mismatch", "equals 40", "42")


def test_tag_diagnosis_from_the_script_loads() -> None:
    tag = rules(tags=[{"vendor": "ga4", "id": "G-9"}])
    script = "https://www.googletagmanager.com/gtag/js?id=G-9"
    assert kinds(tag, Evidence([], tag_loads=[TagLoad("gtag", "G-9", script, status=404)])) == [
        "tag_not_loaded"
    ]
    assert kinds(tag, Evidence([], tag_loads=[TagLoad("gtag", "G-9", script, status=200)])) == [
        "tag_loaded_no_hit"
    ]
    ours = TagLoad(
        "gtag", "G-9", script, failure="net::ERR_BLOCKED_BY_CLIENT", by_policy="egress guard: private"
    )
    assert kinds(tag, Evidence([], tag_loads=[ours])) == ["blocked_by_policy"]
    assert kinds(tag, Evidence([], csp_blocked=[script])) == ["tag_not_loaded"]
    assert kinds(tag, Evidence([])) == ["tag_not_loaded"]
    assert kinds(tag, Evidence([hit("page_view", "G-9")])) == []


def test_our_own_stop_is_never_the_sites_fault() -> None:
    verdict = judge(
        rules(tags=[{"vendor": "ga4", "id": "G-9"}]), [], Evidence([], policy_stop="max_bytes: 41000")
    )
    assert [p.type for p in verdict.problems] == ["blocked_by_policy"]
    assert "says nothing about the site" in verdict.problems[0].message


def test_consent_and_late_hits() -> None:
    ev = Evidence([hit("page_view", params={"gcs": "G100"}, t_ms=200), hit("scroll", t_ms=5200, step=1)],
                  step_starts_ms={1: 1000})  # fmt: skip
    assert kinds(rules(consent="G111"), ev) == ["consent_mismatch"]
    assert kinds(rules(consent="G100", within_ms=3000), ev) == [
        "consent_mismatch",
        "late_hit",
    ]  # scroll: no gcs
    late = judge(rules(within_ms=3000), [], ev).problems[0]
    assert late.seen == "4200 ms" and "after step 1 started" in late.message


def test_request_assertions() -> None:
    ev = Evidence(
        [], requests=[SeenRequest("https://shop/forbidden/x", "GET"), SeenRequest("https://shop/a.js", "GET")]
    )
    forbid = [RequestRule.model_validate({"url": "*/forbidden/*", "count": 0})]
    assert kinds(None, ev, forbid) == ["request_assertion"]
    assert kinds(None, ev, [RequestRule.model_validate({"url": "*/a.js", "method": "POST"})]) == [
        "request_assertion"
    ]
    assert kinds(None, ev, [RequestRule.model_validate({"url": "*.js"})]) == []


@pytest.mark.parametrize(
    ("analytics", "field"),
    [
        ({"tags": [{"vendor": "adobe"}]}, "expect.analytics.tags.0.vendor"),
        ({"events": [{"name": "x", "params": {"dl": {"matches": "(a+)+$"}}}]}, "expect.analytics.events.0.params.dl.matches"),
        ({"events": [{"name": "x", "params": {"dl": {"matches": "(a|aa)*b"}}}]}, "expect.analytics.events.0.params.dl.matches"),
        ({"events": [{"name": "x", "params": {"dl": {"matches": "["}}}]}, "expect.analytics.events.0.params.dl.matches"),
        ({"events": [{"name": "x", "params": {"dl": {"matches": "a" * 201}}}]}, "expect.analytics.events.0.params.dl.matches"),
        ({"events": [{"name": "x", "count": {"min": 3, "max": 1}}]}, "expect.analytics.events.0.count"),
        ({"consent": "granted"}, "expect.analytics.consent"),
    ],
)  # fmt: skip
def test_invalid_rules_name_the_field(analytics: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SessionSpec.model_validate({"url": "https://shop/", "expect": {"analytics": analytics}})
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field


def test_true_and_false_still_mean_what_they_meant() -> None:
    assert (
        SessionSpec.model_validate({"url": "https://s/", "expect": {"analytics": True}}).expect.analytics
        == rules()
    )
    assert (
        SessionSpec.model_validate({"url": "https://s/", "expect": {"analytics": False}}).expect.analytics
        is None
    )


@pytest.mark.parametrize("pattern", ["(a+)+", "(x*y)*z", "(\\w+)\\1", "(ab|a)+c", "(.*a){3,}"])
def test_bounded_regex_refuses_what_could_backtrack(pattern: str) -> None:
    with pytest.raises(UnsafeRegexError):
        check_bounded_regex(pattern)


def test_bounded_regex_keeps_ordinary_patterns() -> None:
    for pattern in ("^https://shop\\.example/", "^T-[0-9]{1,8}$", "(EUR|USD)", "[a-z]+@[a-z]+", "(ab)+"):
        assert check_bounded_regex(pattern).pattern == pattern
