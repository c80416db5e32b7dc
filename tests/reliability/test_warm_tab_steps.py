"""Each wipe step of a warm tab, switched off alone (test-only), lets the channels it clears leak, and
the probe for each of them sees it: every probe can fail for its own reason, not only all at once.

The quick proof (every step off at once, and the full wipe) is tests/e2e/test_warm_tab_probes.py.
"""

from __future__ import annotations

import pytest

from tests.support.browser_harness import BrowserHarness
from tests.support.visitor_probe_site import VisitorProbeSite
from tests.support.visitor_probes import STEP_OF, expected_leaks, leaked, visit_twice

PROBED_STEPS = sorted({step for step in STEP_OF.values() if expected_leaks(step)})


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
