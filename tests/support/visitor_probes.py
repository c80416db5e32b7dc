"""Two sessions on one warm tab against the visitor probe site, and the channels the second saw leak.

`visit_twice` runs session 1 (which writes every channel; it also gets a geolocation grant and an
800x600 viewport, as a session spec might give it) and session 2 (default spec) on the same tab, with
the given wipe steps switched off (test-only). `leaked` names every channel in which session 2 could
tell it was not the first: from its own report and from what the server saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobcore.models import SessionResult
from tests.support.browser_harness import BrowserHarness
from tests.support.visitor_probe_site import VisitorProbeSite
from worker.warm_tabs import WarmTabs

# Each channel, and the wipe step that clears it: switching that step off must make the channel leak.
STEP_OF: dict[str, str] = {
    "window_name": "window_name",
    "history_length": "history",
    "partitioned_cookies": "cookies",
    "tls_session": "tls_sessions",
    "first_party_cookies": "cookies",  # also cleared by the storage step's clearDataForOrigin("all")
    "local_storage": "storage",
    "session_storage": "storage",
    "indexeddb": "storage",
    "cache_api": "storage",
    "third_party_storage": "storage",
    "http_cache_max_age": "http_cache",
    "http_cache_etag": "http_cache",
    "permissions": "permissions",
    "viewport": "emulation",
    "keep_alive_connection": "connections",
    "service_workers": "storage",  # registration is blocked by the context option besides
    "broadcast_channel": "document",  # the next navigation replaces the document anyway
    "shared_worker": "document",
}
# Channels whose step, switched off alone, does not make them leak (another layer holds): see README.
BACKSTOPPED = frozenset({"first_party_cookies", "service_workers", "broadcast_channel", "shared_worker"})
DEFAULT_WIDTH = 1280


@dataclass
class TwoVisits:
    first: dict[str, Any]
    second: dict[str, Any]
    results: tuple[SessionResult, SessionResult]
    site: VisitorProbeSite


def visit_twice(harness: BrowserHarness, site: VisitorProbeSite, skipped: frozenset[str] = frozenset(),
                tenant: str = "probe") -> TwoVisits:  # fmt: skip
    harness.loop.run(harness.runner.tabs.close())
    tabs = harness.runner.tabs = WarmTabs(1, harness.egress, wipe_skipped_for_tests=skipped)
    spec: dict[str, Any] = {"url": site.probe_url, "isolation": "tab", "expect": {"selector": "#done"},
                            "timeout_s": 20}  # fmt: skip
    site.begin(1)
    one = harness.run({**spec, "viewport": {"width": 800, "height": 600}}, tenant=tenant)
    [tab] = tabs.tabs
    # A grant session 1 had (the worker grants none today; a spec field might): session 2 must not.
    harness.loop.run(tab.context.grant_permissions(["geolocation"], origin=site.probe_url.rsplit("/", 1)[0]))
    site.begin(2)
    two = harness.run(spec, tenant=tenant)
    assert one.status == "ok" and two.status == "ok", (one.error, two.error)
    assert one.isolation == two.isolation == "tab"
    assert tabs.tabs == [tab] and tab.sessions == 2, "both sessions must run on the same warm tab"
    return TwoVisits(site.report(1), site.report(2), (one, two), site)


def leaked(v: TwoVisits) -> set[str]:
    f, s, site = v.first, v.second, v.site
    found = set()
    if s["name"] != f["name"]:
        found.add("window_name")
    if s["history"] != f["history"]:
        found.add("history_length")
    if "part=1" in s["third_party"].get("cookie", "") or site.seen(2, "/frame")[0].cookie:
        found.add("partitioned_cookies")
    if s["cookie"] != f["cookie"] or site.seen(2, "/probe")[0].cookie:
        found.add("first_party_cookies")
    if any(x.tls_resumed for x in site.seen(2)):
        found.add("tls_session")
    for key, channel in (("local", "local_storage"), ("session", "session_storage"), ("idb", "indexeddb"),
                         ("cache_api", "cache_api"), ("service_workers", "service_workers"),
                         ("broadcast", "broadcast_channel"), ("shared_worker", "shared_worker")):  # fmt: skip
        if s[key] != f[key]:
            found.add(channel)
    if s["third_party"].get("local") != f["third_party"].get("local"):
        found.add("third_party_storage")
    if not site.seen(2, "/cached"):
        found.add("http_cache_max_age")
    if any(x.if_none_match for x in site.seen(2, "/etag")):
        found.add("http_cache_etag")
    if s["permission"] != f["permission"]:
        found.add("permissions")
    if s["viewport"] != DEFAULT_WIDTH:
        found.add("viewport")
    if {x.connection for x in site.seen(2)} & {x.connection for x in site.seen(1)}:
        found.add("keep_alive_connection")
    return found


def expected_leaks(step: str) -> set[str]:
    """The channels that must leak when `step` alone is switched off."""
    return {c for c, s in STEP_OF.items() if s == step and c not in BACKSTOPPED}
