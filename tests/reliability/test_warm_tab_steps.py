"""Each wipe step of a warm tab, switched off alone (test-only), lets the channels it clears leak, and
the probe for each of them sees it: every probe can fail for its own reason, not only all at once.

The quick proof (every step off at once, and the full wipe) is tests/e2e/test_warm_tab_probes.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.visitor_probe_site import VisitorProbeSite
from tests.support.visitor_probes import STEP_OF, expected_leaks, leaked, visit_twice
from traffic_tool.local.throwaway_pki import ThrowawayPki

PROBED_STEPS = sorted({step for step in STEP_OF.values() if expected_leaks(step)})


@pytest.fixture(scope="module")
def pki() -> Iterator[ThrowawayPki]:
    made = ThrowawayPki()
    yield made
    made.close()


@pytest.fixture(scope="module")
def probe_site(pki: ThrowawayPki) -> Iterator[VisitorProbeSite]:
    site = VisitorProbeSite(pki.leaf("127.0.0.1", "localhost")).start()
    yield site
    site.stop()


@pytest.fixture
def tabbed(pki: ThrowawayPki) -> Iterator[BrowserHarness]:
    """A browser of the test's own: the TLS step's memory-pressure signal leaves Chromium resuming no TLS
    session for a while after, which would hide the TLS probe's leak in the next test."""
    harness = BrowserHarness(browser_settings(extra_ca_file=str(pki.ca_file),
                                              allow_targets="127.0.0.1/32,::1/128"))  # fmt: skip
    yield harness
    harness.close()


@pytest.mark.parametrize("step", PROBED_STEPS)
def test_switching_one_wipe_step_off_shows_its_leak(
    tabbed: BrowserHarness, probe_site: VisitorProbeSite, step: str
) -> None:
    v = visit_twice(tabbed, probe_site, skipped=frozenset({step}))
    found = leaked(v)
    assert expected_leaks(step) <= found, (step, found)
    # Only that step's channels: the others are still wiped (a kept connection also carries its TLS
    # session into the next session, so the TLS probe sees it too).
    allowed = {step, "tls_sessions"} if step == "connections" else {step}
    assert {STEP_OF[c] for c in found} <= allowed, found
