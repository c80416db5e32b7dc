"""Judge a session's hit ledger against its assertions, and explain every failure in words.

Pure: the worker gathers the evidence (the ledger, tag script loads, every request URL, when
the page and each step started, whether our own guard stopped the session) and this module
says what is wrong. A problem our guards caused (a blocked resource type or URL, the egress
guard, `max_bytes`) is `blocked_by_policy`, never the site's fault.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobcore import analytics_rules as rules
from jobcore.analytics import tag_script
from jobcore.analytics_evidence import Evidence, SeenRequest, TagLoad
from jobcore.analytics_models import (
    AnalyticsExpect,
    AnalyticsHit,
    AnalyticsProblem,
    AnalyticsVerdict,
    ProblemType,
    RequestRule,
    TagRule,
)
from jobcore.errors import ErrorType

__all__ = ["Evidence", "SeenRequest", "TagLoad", "failure", "judge"]

_GOOGLE_HITS = frozenset({"ga4", "universal_analytics"})
_GOOGLE_TAGS = frozenset({"gtag", "google_tag_manager"})
_UNMET = frozenset({ProblemType.TAG_NOT_LOADED, ProblemType.TAG_LOADED_NO_HIT, ProblemType.EVENT_MISSING})


def judge(expect: AnalyticsExpect | None, requests: Sequence[RequestRule], ev: Evidence) -> AnalyticsVerdict:
    problems: list[AnalyticsProblem] = []
    if expect is not None:
        if not expect.tags and not expect.events and not ev.hits:
            problems.append(_no_hit_at_all(ev))
        problems += [
            p for i, t in enumerate(expect.tags) if (p := _tag(t, ev, f"expect.analytics.tags[{i}]"))
        ]
        for i, rule in enumerate(expect.events):
            problems += rules.event(rule, ev, f"expect.analytics.events[{i}]")
        if expect.duplicates_checked():
            problems += rules.duplicates(ev)
        if expect.consent is not None:
            problems += rules.consent(expect.consent, ev)
        if expect.within_ms is not None:
            problems += rules.late(expect, ev)
    for i, req in enumerate(requests):
        problems += rules.request(req, ev, f"expect.requests[{i}]")
    if ev.policy_stop is not None:
        problems = [_ours(p, ev.policy_stop) if p.type in _UNMET else p for p in problems]
    return AnalyticsVerdict(ok=not problems, tags_seen=_tags_seen(ev), problems=problems)


def failure(verdict: AnalyticsVerdict, ev: Evidence, analytics_asked: bool) -> tuple[ErrorType, str] | None:
    """The session's error for a failed verdict: no hit at all, or an expectation (naming the rule)."""
    if verdict.ok:
        return None
    first = verdict.problems[0]
    more = f" (and {len(verdict.problems) - 1} more problems)" if len(verdict.problems) > 1 else ""
    where = f"{first.rule}: " if first.rule else ""
    kind = (
        ErrorType.ANALYTICS_NOT_DETECTED if analytics_asked and not ev.hits else ErrorType.EXPECTATION_FAILED
    )
    return kind, f"{where}{first.message}{more}"


# ---- tags ----------------------------------------------------------------------------------------


def _tags_seen(ev: Evidence) -> list[str]:
    seen = {f"{h.vendor}:{h.id}" if h.id else h.vendor for h in ev.hits}
    seen |= {f"{t.vendor}:{t.id}" if t.id else t.vendor for t in ev.tag_loads if t.ok}
    return sorted(seen)


def _hit_matches_tag(hit: AnalyticsHit, vendor: str, ident: str | None) -> bool:
    if vendor in _GOOGLE_TAGS:  # a gtag or GTM tag "sends" through the Google hits it makes
        return hit.vendor in _GOOGLE_HITS
    return hit.vendor == vendor and (ident is None or hit.id == ident)


def _scripts_for(vendor: str, ident: str | None, ev: Evidence) -> list[TagLoad]:
    def relevant(load: TagLoad) -> bool:
        if vendor in _GOOGLE_HITS:  # a GA4 or UA id loads through gtag/js?id=… or any GTM container
            return load.vendor == "google_tag_manager" or (load.vendor == "gtag" and load.id in (ident, None))
        return load.vendor == vendor and (ident is None or load.id in (ident, None))

    return [load for load in ev.tag_loads if relevant(load)]


def _tag(rule: TagRule, ev: Evidence, where: str) -> AnalyticsProblem | None:
    label = f"{rule.vendor} {rule.id}" if rule.id else rule.vendor
    scripts = _scripts_for(rule.vendor, rule.id, ev)
    sent = any(_hit_matches_tag(h, rule.vendor, rule.id) for h in ev.hits)
    if rule.vendor in _GOOGLE_TAGS and not any(s.ok for s in scripts):
        return _script_problem(label, scripts, ev, where) or _never_requested(label, rule, where)
    if sent:
        return None
    if any(s.ok for s in scripts):
        loaded = next(s for s in scripts if s.ok)
        return _problem(
            ProblemType.TAG_LOADED_NO_HIT,
            where,
            rule,
            f"{label}: the tag script loaded (HTTP {loaded.status}, {loaded.url}) but sent no hit",
        )
    return _script_problem(label, scripts, ev, where) or _never_requested(label, rule, where)


def _script_problem(label: str, scripts: list[TagLoad], ev: Evidence, where: str) -> AnalyticsProblem | None:
    for s in scripts:
        if s.by_policy:
            return AnalyticsProblem(
                type=ProblemType.BLOCKED_BY_POLICY,
                rule=where,
                vendor=s.vendor,
                id=s.id,
                message=f"{label}: our own guard stopped the tag script ({s.by_policy}), not the site",
            )
        if s.failure or (s.status is not None and s.status >= 400):
            why = f"answered HTTP {s.status}" if s.status is not None else f"failed ({s.failure})"
            return AnalyticsProblem(
                type=ProblemType.TAG_NOT_LOADED,
                rule=where,
                vendor=s.vendor,
                id=s.id,
                status=s.status,
                message=f"{label}: the tag script {s.url} {why}",
            )
    for url in ev.csp_blocked:
        if any(url.split("?")[0] == s.url.split("?")[0] for s in scripts) or _looks_like_tag(url, label):
            return AnalyticsProblem(
                type=ProblemType.TAG_NOT_LOADED,
                rule=where,
                message=f"{label}: the page's Content-Security-Policy refused the tag script {url}",
            )
    return None


def _looks_like_tag(url: str, label: str) -> bool:
    found = tag_script(url)
    return found is not None and (found.id is None or found.id in label)


def _never_requested(label: str, rule: TagRule, where: str) -> AnalyticsProblem:
    return _problem(
        ProblemType.TAG_NOT_LOADED,
        where,
        rule,
        f"{label}: no tag script for it was requested and no hit carried it",
    )


def _no_hit_at_all(ev: Evidence) -> AnalyticsProblem:
    where = "expect.analytics"
    for load in ev.tag_loads:
        problem = _script_problem(f"{load.vendor} {load.id or ''}".strip(), [load], ev, where)
        if problem is not None:
            return problem
    loaded = [t for t in ev.tag_loads if t.ok]
    if loaded:
        return AnalyticsProblem(
            type=ProblemType.TAG_LOADED_NO_HIT,
            rule=where,
            vendor=loaded[0].vendor,
            id=loaded[0].id,
            message=f"the tag script {loaded[0].url} loaded but no collector request followed",
        )
    return AnalyticsProblem(
        type=ProblemType.EVENT_MISSING, rule=where, message="no analytics collector request was seen"
    )


def _problem(kind: ProblemType, where: str, rule: TagRule, message: str) -> AnalyticsProblem:
    return AnalyticsProblem(type=kind, rule=where, vendor=rule.vendor, id=rule.id, message=message)


def _ours(problem: AnalyticsProblem, reason: str) -> AnalyticsProblem:
    return problem.model_copy(
        update={
            "type": ProblemType.BLOCKED_BY_POLICY,
            "message": f"{problem.message}; but our own guard ended the session first ({reason}): "
            "this says nothing about the site",
        }
    )
