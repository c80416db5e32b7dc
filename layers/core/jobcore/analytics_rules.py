"""The rules over a ledger other than tags: events and their parameters, duplicates, consent, timing,
and request assertions. Each returns the problems it finds, worded for a person."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from jobcore.analytics_evidence import Evidence, SeenRequest
from jobcore.analytics_models import (
    AnalyticsExpect,
    AnalyticsHit,
    AnalyticsProblem,
    CountRange,
    EventRule,
    ParamRule,
    ParamValue,
    ProblemType,
    RequestRule,
)
from jobcore.bounded_regex import check_bounded_regex

AT_LEAST_ONE = CountRange(min=1)


# ---- events --------------------------------------------------------------------------------------


def event(rule: EventRule, ev: Evidence, where: str) -> list[AnalyticsProblem]:
    candidates = [
        h
        for h in ev.hits
        if h.event == rule.name and rule.vendor in (None, h.vendor) and rule.id in (None, h.id)
    ]
    matched = [h for h in candidates if all(_param_ok(h.params.get(k), r) for k, r in rule.params.items())]
    count = rule.count or AT_LEAST_ONE
    label = " ".join(x for x in (rule.vendor, rule.id) if x)
    name = f"{rule.name!r}" + (f" ({label})" if label else "")
    base = {"rule": where, "vendor": rule.vendor, "id": rule.id, "event": rule.name}
    if count.allows(len(matched)):
        return []
    if not candidates:
        return [
            AnalyticsProblem(
                type=ProblemType.EVENT_MISSING,
                expected=count.describe(),
                seen="0",
                message=f"event {name} was never sent",
                **base,
            )
        ]
    if rule.params and len(matched) < count.min:
        key, want, got = _first_mismatch(rule, candidates)
        return [
            AnalyticsProblem(
                type=ProblemType.PARAM_MISMATCH,
                expected=want,
                seen=got,
                **base,
                message=f"event {name}: parameter {key} expected {want}, seen {got} "
                f"({len(candidates)} hit(s) of the event, {len(matched)} matching)",
            )
        ]
    verb = "must not fire" if count.max == 0 else f"expected {count.describe()}"
    return [
        AnalyticsProblem(
            type=ProblemType.EVENT_COUNT,
            expected=count.describe(),
            seen=str(len(matched)),
            message=f"event {name} {verb}, it fired {len(matched)} times",
            **base,
        )
    ]


def _first_mismatch(rule: EventRule, candidates: list[AnalyticsHit]) -> tuple[str, str, str]:
    hit = candidates[0]
    for key, want in rule.params.items():
        value = hit.params.get(key)
        if not _param_ok(value, want):
            return key, _describe(want), "(absent)" if value is None else repr(_plain(value))
    return "?", "?", "?"


def _describe(rule: ParamRule) -> str:
    parts = []
    if rule.equals is not None:
        parts.append(f"equals {_plain(rule.equals)!r}")
    if rule.matches is not None:
        parts.append(f"matches /{rule.matches}/")
    if rule.exists is not None:
        parts.append("present" if rule.exists else "absent")
    return " and ".join(parts)


def _plain(value: ParamValue) -> ParamValue:
    return int(value) if isinstance(value, float) and value.is_integer() else value


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return check_bounded_regex(pattern)


def _param_ok(value: ParamValue | None, rule: ParamRule) -> bool:
    if rule.exists is not None and (value is not None) != rule.exists:
        return False
    if rule.equals is not None and (value is None or not _same(value, rule.equals)):
        return False
    return rule.matches is None or (
        value is not None and _regex(rule.matches).search(str(_plain(value))) is not None
    )


def _same(value: ParamValue, want: ParamValue) -> bool:
    try:
        return float(value) == float(want)
    except ValueError:
        return str(value) == str(want)


# ---- duplicates, consent, timing -------------------------------------------------------------------


def duplicates(ev: Evidence) -> list[AnalyticsProblem]:
    # The same event for the same id twice with no step in between: the tag is installed twice.
    counts = Counter((h.vendor, h.id, h.event, h.navigation, h.step) for h in ev.hits if h.event)
    return [
        AnalyticsProblem(
            type=ProblemType.DUPLICATE_HIT,
            rule="expect.analytics.no_duplicates",
            vendor=vendor,
            id=ident,
            event=event,
            seen=str(n),
            expected="1",
            message=f"{vendor} {ident or ''} sent {event!r} {n} times in one page load"
            f"{'' if step == 0 else f' (step {step})'}: is the tag installed twice (GTM and gtag)?",
        )
        for (vendor, ident, event, _nav, step), n in counts.items()
        if n > 1
    ]


def consent(expected: str, ev: Evidence) -> list[AnalyticsProblem]:
    ga4 = [h for h in ev.hits if h.vendor == "ga4"]
    if not ga4:
        return []
    seen = Counter(str(h.params.get("gcs", "(none)")) for h in ga4)
    wrong = {k: n for k, n in seen.items() if k != expected}
    if not wrong:
        return []
    described = ", ".join(f"{k} on {n} hit(s)" for k, n in sorted(wrong.items()))
    return [
        AnalyticsProblem(
            type=ProblemType.CONSENT_MISMATCH,
            rule="expect.analytics.consent",
            expected=expected,
            seen=", ".join(sorted(wrong)),
            message=f"expected consent state {expected}, GA4 hits carried {described}",
        )
    ]


def _anchor_ms(hit: AnalyticsHit, ev: Evidence) -> int:
    nav = ev.navigation_starts_ms[hit.navigation] if hit.navigation < len(ev.navigation_starts_ms) else 0
    return max(nav, ev.step_starts_ms.get(hit.step, 0))


def late(expect: AnalyticsExpect, ev: Evidence) -> list[AnalyticsProblem]:
    limit = expect.within_ms or 0
    names = {e.name for e in expect.events}
    worst: dict[tuple[str, str | None, str | None], tuple[int, AnalyticsHit]] = {}
    for hit in ev.hits:
        if hit.t_ms is None or (names and hit.event not in names):
            continue
        delay = hit.t_ms - _anchor_ms(hit, ev)
        key = (hit.vendor, hit.id, hit.event)
        if delay > limit and delay > worst.get(key, (-1, hit))[0]:
            worst[key] = (delay, hit)
    return [
        AnalyticsProblem(
            type=ProblemType.LATE_HIT,
            rule="expect.analytics.within_ms",
            vendor=v,
            id=i,
            event=e,
            expected=f"<= {limit} ms",
            seen=f"{delay} ms",
            message=f"{v} {i or ''} {e!r} arrived {delay} ms after "
            f"{'the page load' if hit.step == 0 else f'step {hit.step}'} started, over within_ms {limit}",
        )
        for (v, i, e), (delay, hit) in worst.items()
    ]


# ---- requests ------------------------------------------------------------------------------------


def request(rule: RequestRule, ev: Evidence, where: str) -> list[AnalyticsProblem]:
    seen = _matching(rule, ev.requests)
    count = rule.count or AT_LEAST_ONE
    if count.allows(len(seen)):
        return []
    method = f" {rule.method}" if rule.method else ""
    verb = "must not happen" if count.max == 0 else f"expected {count.describe()}"
    example = f", e.g. {seen[0]}" if seen else ""
    return [
        AnalyticsProblem(
            type=ProblemType.REQUEST_ASSERTION,
            rule=where,
            expected=count.describe(),
            seen=str(len(seen)),
            message=f"requests{method} matching {rule.url!r} {verb}; the page made {len(seen)}{example}",
        )
    ]


def _matching(rule: RequestRule, requests: Iterable[SeenRequest]) -> list[str]:
    return [
        r.url
        for r in requests
        if (rule.method is None or r.method.upper() == rule.method) and fnmatch.fnmatchcase(r.url, rule.url)
    ]
