"""Chromium / Playwright failures → the error taxonomy, with a message a person reads."""

from __future__ import annotations

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from jobcore.errors import ErrorType
from worker.error_mapping import NET_ERRORS, classify


def _net(code: str) -> PlaywrightError:
    return PlaywrightError(f"Page.goto: net::{code} at http://127.0.0.1:1/\nCall log:\n  - navigating")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ERR_NAME_NOT_RESOLVED", ErrorType.DNS_ERROR),
        ("ERR_CONNECTION_REFUSED", ErrorType.CONNECTION_ERROR),
        ("ERR_CONNECTION_RESET", ErrorType.CONNECTION_ERROR),
        ("ERR_PROXY_CONNECTION_FAILED", ErrorType.PROXY_ERROR),
        ("ERR_TUNNEL_CONNECTION_FAILED", ErrorType.PROXY_ERROR),
        ("ERR_PROXY_AUTH_UNSUPPORTED", ErrorType.PROXY_AUTH_FAILED),
        ("ERR_BLOCKED_BY_CLIENT", ErrorType.BLOCKED_TARGET),
        ("ERR_TIMED_OUT", ErrorType.NAVIGATION_TIMEOUT),
    ],
)
def test_net_errors(code: str, expected: ErrorType) -> None:
    info = classify(_net(code))
    assert info.type == expected
    assert code in info.message
    assert "Call log" not in info.message


def test_every_mapped_code_has_words() -> None:
    assert all(words and not words.startswith("ERR_") for _, words in NET_ERRORS.values())


def test_unknown_net_error_is_connection_error() -> None:
    assert classify(_net("ERR_SOMETHING_NEW")).type == ErrorType.CONNECTION_ERROR


def test_timeouts() -> None:
    exc = PlaywrightTimeoutError("Page.goto: Timeout 2000ms exceeded.")
    assert classify(exc).type == ErrorType.NAVIGATION_TIMEOUT
    step = classify(
        PlaywrightTimeoutError("Page.click: Timeout 300ms exceeded."), during="step 1 (click '#x')"
    )
    assert step.type == ErrorType.STEP_FAILED
    assert "step 1" in step.message


def test_crash_and_download() -> None:
    assert classify(PlaywrightError("Page.goto: Page crashed")).type == ErrorType.BROWSER_CRASH
    assert (
        classify(PlaywrightError("Target page, context or browser has been closed")).type
        == ErrorType.BROWSER_CRASH
    )
    download = classify(PlaywrightError("Page.goto: Download is starting"))
    assert download.type == ErrorType.EXPECTATION_FAILED


def test_secrets_masked_in_messages() -> None:
    info = classify(
        PlaywrightError("Page.click: failed for s3cret-pw"), during="step 1", secrets=["s3cret-pw"]
    )
    assert "s3cret-pw" not in info.message
