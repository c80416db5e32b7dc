"""The report rendered in real headless Chromium, from a view holding hostile page content."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from jobcore.report import render_report
from tests.support.report_browser import render_and_check
from tests.support.sample_report import sample_view

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


def png(width: int, height: int) -> bytes:
    """A plain grey PNG, made here so the test needs no image file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc8" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_report_renders_expands_filters_and_runs_nothing(tmp_path: Path) -> None:
    view = sample_view()
    page = render_report(view, screenshots={2: png(320, 200)})
    report = tmp_path / "report.html"
    report.write_text(page)
    render_and_check(report, rows=6, failed=3, hostile_index=3)
    assert 'href="javascript' not in page  # a hostile link is left out, not linked
