"""The job report in real headless Chromium: rows, expandable failed rows, the chart, the filter;
whatever a page put in it shows as text and runs nothing (dialogs and requests are watched)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/lib/chromium/chromium-headless-shell"


def render_and_check(report: Path, rows: int, failed: int, hostile_index: int) -> bytes:
    """Checks the rendered report; returns its full-page screenshot (PNG)."""
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            assert page.locator("tr.session").count() == rows
            assert page.locator("svg#timeline rect.run").count() == rows  # the chart, one bar per session
            failed_rows = page.locator("tr.session.status-failed")
            assert failed_rows.count() == failed
            hostile = page.locator(f'tr.session[data-index="{hostile_index}"]')
            assert not hostile.locator("details ul").is_visible()  # collapsed until asked
            for i in range(failed):
                failed_rows.nth(i).locator("summary").click()
            assert hostile.locator("details ul").is_visible()
            assert failed_rows.locator("img.screenshot").first.is_visible()  # the embedded screenshot
            text = hostile.inner_text()
            assert "<script>alert('title')</script>" in text  # shown as text
            assert "<script>alert('console')</script>" in text
            page.locator("#f-failed").check()  # the status filter, no framework
            assert page.locator("tr.session:visible").count() == failed
            png = page.screenshot(full_page=True)
            page.wait_for_timeout(300)  # anything the page scheduled would have run by now
        finally:
            browser.close()
    assert dialogs == []
    assert [u for u in requests if not u.startswith("data:")] == [report.as_uri()]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # rendered, not a blank page
    return png
