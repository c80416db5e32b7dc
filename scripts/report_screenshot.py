"""The README's picture of a job report (`make report-screenshot` → docs/report.png).

Renders jobcore.report on the sample job of the report's browser test in headless Chromium, with a
failed row expanded, and writes a small PNG. Offline: nothing is fetched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("", "layers/core", "worker", "cli"):
    sys.path.insert(0, str(ROOT / sub))

from playwright.sync_api import sync_playwright  # noqa: E402

from jobcore.report import render_report  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from tests.support.sample_report import sample_view  # noqa: E402

SAMPLE_PAGE = ROOT / "cli" / "traffic_tool" / "sample_site" / "plain.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, nargs="?", default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=Settings().chromium_path)
        try:
            shot_page = browser.new_page(viewport={"width": 640, "height": 360})
            shot_page.set_content(SAMPLE_PAGE.read_text())
            shot = shot_page.screenshot(type="png")
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "report.html"
                report.write_text(render_report(sample_view(), {2: shot}))
                page = browser.new_page(viewport={"width": 1180, "height": 900})
                page.goto(report.as_uri())
                page.locator('tr.session[data-index="2"] summary').click()
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output), full_page=True)
        finally:
            browser.close()
    print(f"{args.output}: {args.output.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
