"""Waiting for a condition instead of sleeping a fixed time: the tests' one polling loop."""

from __future__ import annotations

import time
from collections.abc import Callable

from jobcore.models import JobView
from jobcore.store import JobStore


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


def wait_for_job(store: JobStore, tenant: str, job_id: str, timeout: float = 60.0) -> JobView:
    """Wait until the job has completed; its view."""

    def completed() -> JobView | None:
        view = store.get(tenant, job_id)
        return view if view.status == "completed" else None

    return wait_until(completed, timeout, f"job {job_id} to complete", interval=0.1)
