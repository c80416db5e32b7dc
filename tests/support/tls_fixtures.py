"""Fixtures for HTTPS on loopback, shared by the HTTPS and warm-tab tests (a pytest plugin: tests/conftest.py
loads it). Each test module gets its own throwaway CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.visitor_probe_site import VisitorProbeSite
from traffic_tool.local.throwaway_pki import ThrowawayPki


@pytest.fixture(scope="module")
def pki() -> Iterator[ThrowawayPki]:
    made = ThrowawayPki()
    yield made
    made.close()


@pytest.fixture(scope="module")
def probe_site(pki: ThrowawayPki) -> Iterator[VisitorProbeSite]:
    """The visitor-state probe pages over HTTPS on two sites: 127.0.0.1 and localhost."""
    site = VisitorProbeSite(pki.leaf("127.0.0.1", "localhost")).start()
    yield site
    site.stop()


@pytest.fixture
def tabbed(pki: ThrowawayPki) -> Iterator[BrowserHarness]:
    """A browser of the test's own: the TLS step's memory-pressure signal leaves Chromium resuming no TLS
    session for a while after, which would hide the TLS probe's leak in the next test."""
    # localhost resolves to both loopback addresses: both are allowed, nothing else is.
    harness = BrowserHarness(browser_settings(extra_ca_file=str(pki.ca_file),
                                              allow_targets="127.0.0.1/32,::1/128"))  # fmt: skip
    yield harness
    harness.close()
