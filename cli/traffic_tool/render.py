"""How jobs look in a terminal: the results table and the progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobcore.constants import JobStatus
from jobcore.models import JobView, SessionResult

ENDED = (JobStatus.COMPLETED, JobStatus.CANCELLED)


def _analytics(session: SessionResult) -> str:
    if not session.analytics:
        return "-"
    first = session.analytics[0]
    more = f" +{len(session.analytics) - 1}" if len(session.analytics) > 1 else ""
    return f"{first.vendor} {first.id or ''}".strip() + more


def _error(session: SessionResult) -> str:
    return "" if session.error is None else f"{session.error.type}: {session.error.message}"


def results_table(view: JobView) -> Table:
    p = view.progress
    counts = f"{p.ok} ok, {p.failed} failed, {p.cancelled} cancelled of {p.total}"
    title = f"job {view.job_id} · {view.status} · {counts}"
    table = Table(title=title, title_justify="left", expand=False)
    for name, justify in (("#", "right"), ("url", "left"), ("status", "left"), ("HTTP", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in ("ms", "KB"):
        table.add_column(name, justify="right")
    table.add_column("analytics")
    table.add_column("error", overflow="fold", max_width=60)
    colours = {"ok": "green", "failed": "red", "cancelled": "yellow"}
    for s in view.sessions:
        status = f"[{colours.get(s.status, 'white')}]{s.status}[/]"
        table.add_row(
            str(s.index),
            s.url if len(s.url) <= 48 else s.url[:45] + "…",
            status,
            str(s.http_status or "-"),
            str(s.timings_ms.total if s.timings_ms.total is not None else "-"),
            f"{s.bytes_in / 1024:.1f}",
            _analytics(s),
            _error(s),
        )
    return table


def wait_with_progress(
    fetch: Callable[[], JobView], console: Console, timeout_s: float = 600, poll_s: float = 0.5
) -> JobView:
    """Poll until the job has ended, with a progress bar of ended sessions."""
    view = fetch()
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("running", total=view.progress.total)
        while True:
            p = view.progress
            progress.update(
                task,
                completed=p.ok + p.failed + p.cancelled,
                description=f"{view.status}: {p.running} running, {p.queued} queued",
            )
            if view.status in ENDED or time.monotonic() > deadline:
                return view
            time.sleep(poll_s)
            view = fetch()
