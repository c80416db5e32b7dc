"""Warm tabs (isolation "tab"): the next session on a tab reads every visitor channel as a first visit.

Real Chromium, the worker's own runner, tab pool and egress proxy; the probe site is HTTPS on two sites
(127.0.0.1 and localhost). Each probe is shown able to fail: with every wipe step switched off (the
test-only switch of `WarmTabs`), every probe must see its leak. One step at a time is the slow proof
(tests/reliability/test_warm_tab_steps.py).
"""

from __future__ import annotations

import logging

import pytest

from jobcore import limits
from jobcore.models import SessionResult, SessionSpec
from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.fixture_site import FixtureSite
from tests.support.visitor_probe_site import VisitorProbeSite
from tests.support.visitor_probes import BACKSTOPPED, STEP_OF, leaked, visit_twice
from worker.warm_tabs import WIPE_STEPS, WarmTabs

pytestmark = pytest.mark.browser


def test_the_next_session_on_a_warm_tab_reads_every_channel_as_a_first_visit(
    tabbed: BrowserHarness, probe_site: VisitorProbeSite
) -> None:
    v = visit_twice(tabbed, probe_site)
    assert leaked(v) == set()
    second = v.second
    # What a first visit reads (the server's own cookie comes with this very response).
    assert second["cookie"] == "server=1" and second["third_party"] == {"cookie": "third=1", "local": None}
    assert (second["local"], second["session"], second["idb"], second["name"]) == (None, None, None, "")
    assert (second["cache_api"], second["service_workers"], second["permission"]) == (0, 0, "prompt")
    assert (second["broadcast"], second["shared_worker"], second["viewport"]) == (None, 1, 1280)
    assert second["history"] == v.first["history"]
    # The server's view: no cookie came, the cache was not used, new connections, fresh TLS handshakes.
    seen = probe_site.seen(2)
    assert [x.cookie for x in seen if x.path in ("/probe", "/frame")] == ["", ""]
    assert probe_site.seen(2, "/cached") and not any(x.if_none_match for x in seen)
    assert not {x.connection for x in seen} & {x.connection for x in probe_site.seen(1)}
    assert not any(x.tls_resumed for x in seen)


def test_with_the_wipe_off_every_probe_sees_its_leak(
    tabbed: BrowserHarness, probe_site: VisitorProbeSite
) -> None:
    v = visit_twice(tabbed, probe_site, skipped=frozenset(WIPE_STEPS))
    # With the connections kept, no new handshake happens, so no TLS resumption can show: the kept
    # connection is the link seen instead (the TLS probe fails on its own step: tests/reliability).
    assert leaked(v) >= set(STEP_OF) - BACKSTOPPED - {"tls_session"}
    assert "keep_alive_connection" in leaked(v)


def test_two_tenants_never_share_a_tab(site: FixtureSite, caplog: pytest.LogCaptureFixture) -> None:
    """Two tenants interleaved on one worker (2 slots): the tab ids the worker logs never serve both."""
    harness = BrowserHarness(browser_settings(sessions_per_worker=2))
    try:
        order = ["a", "a", "b", "a", "b", "b", "a", "b"]
        for shared in (
            False,
            True,
        ):  # True: the test-only switch letting tenants share: the check must see it
            harness.loop.run(harness.runner.tabs.close())
            harness.runner.tabs = WarmTabs(2, harness.egress, tenants_shared_for_tests=shared)
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="worker.watchdog"):
                for pair in range(0, len(order), 2):
                    results = harness.loop.run(_pair(harness, site, order[pair], order[pair + 1]))
                    assert [r.status for r in results] == ["ok", "ok"]
            tenants_of: dict[str, set[str]] = {}
            for record in caplog.records:
                if record.getMessage().startswith("session ") and " on tab " in record.getMessage():
                    tab, tenant = record.args[2], record.args[3]  # type: ignore[index]
                    tenants_of.setdefault(str(tab), set()).add(str(tenant))
            assert sum(1 for _ in caplog.records if " on tab " in _.getMessage()) == len(order)
            shared_tabs = [tab for tab, tenants in tenants_of.items() if len(tenants) > 1]
            if shared:
                assert shared_tabs, "the check must see a shared tab when sharing is switched on"
            else:
                assert shared_tabs == [], tenants_of
                assert len(tenants_of) < len(order), "tabs were reused within a tenant"
    finally:
        harness.close()


async def _pair(harness: BrowserHarness, site: FixtureSite, first: str, second: str) -> list[SessionResult]:
    import asyncio

    from worker.session_runner import SessionTask
    from worker.watchdog import run_guarded

    assert harness.pool is not None
    spec = SessionSpec.model_validate({"url": site.url("/light.html"), "isolation": "tab"})
    tasks = [SessionTask(spec, tenant, "job", i) for i, tenant in enumerate((first, second))]
    return list(await asyncio.gather(*(run_guarded(harness.pool, harness.runner, t, 3.0) for t in tasks)))


@pytest.mark.parametrize(("page", "errors"), [
    ("/loop.html", {"navigation_timeout", "session_timeout"}),
    ("/bomb.html", {"browser_crash"}),
])  # fmt: skip
def test_a_tab_whose_session_hangs_or_crashes_is_replaced(
    browser: BrowserHarness, site: FixtureSite, page: str, errors: set[str]
) -> None:
    light = {"url": site.url("/light.html"), "isolation": "tab"}
    assert browser.run(light).status == "ok"
    [before] = browser.runner.tabs.tabs
    result = browser.run({"url": site.url(page), "isolation": "tab", "timeout_s": 2})
    assert result.status == "failed" and result.error is not None and result.error.type in errors
    assert before not in browser.runner.tabs.tabs, "the tab that hung or crashed must be closed"
    after = browser.run(light)
    assert after.status == "ok" and after.isolation == "tab"
    assert [t.id for t in browser.runner.tabs.tabs] != [before.id]


def test_a_spec_recording_a_trace_runs_in_a_fresh_context(browser: BrowserHarness, site: FixtureSite) -> None:
    spec = {"url": site.url("/light.html"), "isolation": "tab", "artifacts": {"trace": "on_failure"}}
    assert browser.run(spec).isolation == "context"


def test_a_tab_whose_wipe_fails_is_replaced(browser: BrowserHarness, site: FixtureSite) -> None:
    light = {"url": site.url("/light.html"), "isolation": "tab"}
    assert browser.run(light).status == "ok"
    [tab] = [t for t in browser.runner.tabs.tabs if not t.busy]
    browser.loop.run(tab.cdp.detach())  # every CDP step of the next wipe now fails
    after = browser.run(light)
    assert after.status == "ok" and after.isolation == "tab"
    assert tab not in browser.runner.tabs.tabs


def test_another_locale_gets_another_tab(browser: BrowserHarness, site: FixtureSite) -> None:
    browser.loop.run(browser.runner.tabs.close())
    for locale in ("en-US", "de-DE", "en-US"):
        spec = {"url": site.url("/light.html"), "isolation": "tab", "locale": locale}
        assert browser.run(spec).status == "ok"
    assert sorted(t.locale or "" for t in browser.runner.tabs.tabs) == ["de-DE", "en-US"]
    assert sum(t.sessions for t in browser.runner.tabs.tabs) == 3


def test_a_tab_that_served_k_sessions_is_replaced(
    browser: BrowserHarness,
    site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(limits, "MAX_SESSIONS_PER_TAB", 2)
    browser.loop.run(browser.runner.tabs.close())
    light = {"url": site.url("/light.html"), "isolation": "tab"}
    with caplog.at_level(logging.INFO, logger="worker.warm_tabs"):
        for _ in range(5):
            assert browser.run(light).status == "ok"
    lines = [r.getMessage() for r in caplog.records if r.name == "worker.warm_tabs"]
    # two sessions a tab, then its context is closed and a new one made: 5 sessions, 3 tabs
    assert sum(" opened for tenant " in line for line in lines) == 3, lines
    assert sum(line.endswith("closed after 2 sessions: served 2 sessions") for line in lines) == 2, lines
