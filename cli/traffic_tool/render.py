"""How jobs look in a terminal: the results table and the progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobcore.constants import JobStatus
from jobcore.models import JobView, SessionResult

ENDED = (JobStatus.COMPLETED, JobStatus.CANCELLED)
CERT_WARN_DAYS = 21  # days left shown red below this: three weeks to renew


def _analytics(session: SessionResult) -> str:
    """The verdict when rules were given (tags seen, then the problems), else the tags the ledger saw."""
    verdict = session.analytics_verdict
    if verdict is not None:
        tags = " ".join(verdict.tags_seen) or "no tag"
        problems = sorted({p.type.value for p in verdict.problems})
        return f"[green]ok[/] {tags}" if verdict.ok else f"[red]{', '.join(problems)}[/] · {tags}"
    seen = sorted({f"{h.vendor} {h.id or ''}".strip() for h in session.analytics if h.kind == "hit"})
    if not seen:
        return "-"
    return seen[0] + (f" +{len(seen) - 1}" if len(seen) > 1 else "")


def _short_url(url: str) -> str:
    """The path and query: every session of a demo or check shares the host, the table has 80 columns."""
    parts = urlsplit(url)
    short = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return short if len(short) <= 32 else short[:31] + "…"


def results_table(view: JobView) -> Table:
    p = view.progress
    counts = f"{p.ok} ok, {p.failed} failed, {p.cancelled} cancelled of {p.total}"
    hosts = {urlsplit(s.url).netloc for s in view.sessions}
    where = f" on {hosts.pop()}" if len(hosts) == 1 else ""
    table = Table(title=f"job {view.job_id} · {view.status} · {counts}{where}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("page", overflow="fold")
    table.add_column("status")
    for name in ("HTTP", "ms", "KB"):
        table.add_column(name, justify="right")
    table.add_column("analytics")
    table.add_column("cert", justify="right")  # days the HTTPS certificate has left
    table.add_column("error", overflow="fold")
    colours = {"ok": "green", "failed": "red", "cancelled": "yellow"}
    for s in view.sessions:
        table.add_row(
            str(s.index),
            _short_url(s.url),
            f"[{colours.get(s.status, 'white')}]{s.status}[/]",
            str(s.http_status or "-"),
            str(s.timings_ms.total if s.timings_ms.total is not None else "-"),
            f"{s.bytes_in / 1024:.1f}",
            _analytics(s),
            _cert(s),
            s.error.type if s.error else "",
        )
    return table


def _cert(session: SessionResult) -> str:
    if session.tls is None:
        return "-"
    days = session.tls.days_left
    colour = "red" if days < CERT_WARN_DAYS else "green"
    return f"[{colour}]{days}d[/]"


def cost_line(view: JobView) -> str | None:
    """The job's cost ledger: what its sessions used and the estimate under the price file."""
    c = view.cost
    if c is None:
        return None
    return (f"cost: {c.cpu_s:.2f} CPU-s, {c.wall_s:.1f} s of sessions, {c.bytes / 1024:.1f} KB, "
            f"estimated ${c.usd:.6f}")  # fmt: skip


def error_notes(view: JobView) -> list[str]:
    """One line per failed session: what went wrong, in words, and where it stood (the failure context);
    then one per analytics problem the error line does not already say."""
    notes = []
    for s in view.sessions:
        if s.error is not None:
            notes.append(f"#{s.index} {s.error.type}: {s.error.message}{_context(s)}")
        problems = s.analytics_verdict.problems if s.analytics_verdict is not None else []
        told = s.error.message if s.error is not None else ""
        notes += [f"#{s.index}   {p.type}: {p.message}" for p in problems if p.message not in told]
    return notes


def _context(session: SessionResult) -> str:
    f = session.failure
    if f is None:
        return ""
    parts = [f"step {f.step_index} ({f.step_action})" if f.step_index is not None else "",
             f"last HTTP {f.last_http_status}" if f.last_http_status is not None else "",
             f"console: {f.last_console_error[:120]}" if f.last_console_error else ""]  # fmt: skip
    said = [p for p in parts if p]
    return f" [{'; '.join(said)}]" if said else ""


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
