"""`traffic-tool checks show` draws the last runs as a strip of ✓/✗ with durations, oldest left."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from jobcore.check_models import CheckRun
from traffic_tool.commands.checks_cmds import run_strip


def test_the_strip_reads_oldest_to_newest_with_durations() -> None:
    at = datetime(2026, 11, 30, tzinfo=UTC)
    newest_first = [
        CheckRun(job_id="c", scheduled_at=at, ok=True, duration_ms=812),
        CheckRun(job_id="b", scheduled_at=at, ok=False, rechecked=True, duration_ms=2100),
        CheckRun(job_id="a", scheduled_at=at, ok=True, rechecked=True, duration_ms=930),
    ]
    console = Console(width=80, record=True, color_system=None)
    console.print(run_strip(newest_first))
    marks, durations = [line.split() for line in console.export_text().splitlines() if line.strip()]
    assert marks == ["✓↻", "✗↻", "✓"]
    assert durations == ["930ms", "2.1s", "812ms"]
