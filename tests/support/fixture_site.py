"""The sample site's server with the tests' fixture pages in front of the sample pages."""

from __future__ import annotations

from pathlib import Path

from traffic_tool.local.sample_site import HEAVY_ASSETS, SAMPLE_PAGES
from traffic_tool.local.sample_site import FixtureSite as _SampleSite

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"

__all__ = ["HEAVY_ASSETS", "PAGES", "FixtureSite"]


class FixtureSite(_SampleSite):
    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, pages=(PAGES, SAMPLE_PAGES))
