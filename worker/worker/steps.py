"""The steps of a SessionSpec, performed on a page. Each step is bounded by the session's deadline."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page

from jobcore.limits import DEFAULT_STEP_TIMEOUT_MS
from jobcore.models import (
    ClickStep,
    FillStep,
    HoverStep,
    PressStep,
    ScrollStep,
    Step,
    WaitForStep,
    WaitStep,
)


def describe(step: Step) -> str:
    target = getattr(step, "selector", None)
    return f"{step.action} {target!r}" if target else step.action


async def perform(page: Page, step: Step, remaining_ms: float) -> None:
    """Perform one step; Playwright raises on failure or timeout."""
    if isinstance(step, WaitStep):
        await asyncio.sleep(min(step.ms, remaining_ms) / 1000)
        return
    timeout = max(1.0, min(float(step.timeout_ms or DEFAULT_STEP_TIMEOUT_MS), remaining_ms))
    match step:
        case ClickStep():
            await page.click(step.selector, timeout=timeout)
        case FillStep():
            await page.fill(step.selector, step.value, timeout=timeout)
        case PressStep():
            if step.selector:
                await page.press(step.selector, step.key, timeout=timeout)
            else:
                await page.keyboard.press(step.key)
        case HoverStep():
            await page.hover(step.selector, timeout=timeout)
        case ScrollStep():
            if step.selector:
                await page.locator(step.selector).first.scroll_into_view_if_needed(timeout=timeout)
            else:
                # A plain scroll of the document: the page's own scroll listeners fire as for a reader.
                await page.evaluate("y => window.scrollBy(0, y ?? window.innerHeight)", step.y)
        case WaitForStep():
            await page.wait_for_selector(step.selector, state=step.state, timeout=timeout)
