"""Waiting for a condition instead of sleeping a fixed time: the tests' one polling loop."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until[T](
    predicate: Callable[[], T], timeout: float, what: str = "condition", interval: float = 0.2
) -> T:
    """Poll `predicate` until it returns something true, and return that; AssertionError past `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(interval)
