from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.fixture_site import FixtureSite


@pytest.fixture(scope="session")
def canary() -> Iterator[FixtureSite]:
    """A server on 127.0.0.2, which the tests' policy denies: any request it records is a guard leak."""
    server = FixtureSite("127.0.0.2").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserHarness]:
    harness = BrowserHarness(browser_settings())
    yield harness
    harness.close()
