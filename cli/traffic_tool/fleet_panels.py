"""`traffic-tool top`'s frame: the dashboard's panels drawn from one FleetSnapshot."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from jobcore import limits, metric_names
from traffic_tool.fleet_snapshot import FleetSnapshot

STATUS_CLASSES = ("2xx", "4xx", "5xx")


def _kb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024:.1f} KB"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _grid(rows: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column(justify="right")
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def recent(now: FleetSnapshot, name: str, label: str) -> str:
    """The count over the last few minutes, beside the running total."""
    count = now.view.last_minutes.get(f"{name}:{label}", 0.0)
    return f"[dim]{count:.0f} in {now.view.window_minutes} min[/dim]"


def render_frame(now: FleetSnapshot, previous: FleetSnapshot | None = None) -> RenderableType:
    h, t = now.health, now.totals
    util = now.utilisation
    sessions = _grid([
        ("active", str(h.running_sessions)),
        ("capacity", str(h.capacity)),
        ("utilisation", "-" if util is None else f"{util:.0%}"),
        ("ok", f"{t.get(metric_names.SESSIONS_OK):.0f}"),
        ("failed", f"{t.get(metric_names.SESSIONS_FAILED):.0f}"),
        ("p95 duration", _ms(now.p95("duration_ms"))),
    ])  # fmt: skip
    depth = h.queue_depth_by_priority
    queue = _grid([
        ("queued", str(h.queue_depth)),
        ("  high / normal / low", f"{depth.high} / {depth.normal} / {depth.low}"),
        ("processing", str(h.running_sessions)),
        ("oldest queued", f"{h.oldest_queued_age_s:.1f} s"),
        ("p95 queue wait", _ms(now.p95("queue_wait_ms"))),
        ("dead letters", str(h.dead_letters)),
    ])  # fmt: skip
    desired = now.desired_workers
    workers = _grid([
        ("health", "ready" if h.status == "ok" else h.status),
        ("live workers", str(h.workers)),
        ("desired", "-" if desired is None else str(desired)),
        ("zombies reaped", f"{t.get(metric_names.ZOMBIES_REAPED):.0f}"),
    ])  # fmt: skip
    request_rows = []
    for status_class in STATUS_CLASSES:
        rate = now.rate(previous, metric_names.API_REQUESTS, status_class)
        shown = f"{t.get(metric_names.API_REQUESTS, status_class):.0f}"
        shown += f"  {recent(now, metric_names.API_REQUESTS, status_class)}"
        request_rows.append((status_class, shown if rate is None else f"{shown}  ({rate:.1f}/s)"))
    requests = _grid(request_rows)  # total  last minutes  (rate between two frames)
    target = limits.BANDWIDTH_TARGET_BYTES
    bandwidth = _grid([
        ("average", _kb(now.view.bytes_per_session_avg)),
        ("p95", _kb(now.p95("bytes_in"))),
        ("target", _kb(target)),
    ])  # fmt: skip
    by_type = sorted(t.labelled(metric_names.SESSIONS_FAILED).items(), key=lambda kv: (-kv[1], kv[0]))
    errors = _grid(
        [(kind, f"{count:.0f}  {recent(now, metric_names.SESSIONS_FAILED, kind)}") for kind, count in by_type]
        or [("none", "")]
    )
    top_row = Table.grid(expand=True, padding=(0, 1))
    bottom_row = Table.grid(expand=True, padding=(0, 1))
    for row in (top_row, bottom_row):
        for _ in range(3):
            row.add_column(ratio=1)
    top_row.add_row(
        Panel(sessions, title="active sessions"), Panel(queue, title="queue"), Panel(workers, title="fleet")
    )
    bottom_row.add_row(
        Panel(requests, title="API requests"),
        Panel(bandwidth, title="bytes per session"),
        Panel(errors, title="errors by type"),
    )
    return Group(top_row, bottom_row, _load_row(now))


SHOWN_ROWS = 8  # tenants and workers listed; the rest are summed up in one line


def _load_row(now: FleetSnapshot) -> Table:
    """Who the work is for and who runs it: tenants by load, workers with their heartbeat's age."""
    tenants = sorted(now.view.tenants, key=lambda t: (-(t.queued + t.running), t.tenant))
    tenant_rows = [(t.tenant, f"{t.queued} / {t.running}") for t in tenants[:SHOWN_ROWS]]
    if len(tenants) > SHOWN_ROWS:
        tenant_rows.append((f"+{len(tenants) - SHOWN_ROWS} more", ""))
    workers = now.view.live_workers
    worker_rows = []
    for w in workers[:SHOWN_ROWS]:
        age = "-" if w.heartbeat_age_s is None else f"{w.heartbeat_age_s:.1f} s"
        worker_rows.append((w.worker_id, f"{w.active}/{w.capacity}  {age}"))
    if len(workers) > SHOWN_ROWS:
        worker_rows.append((f"+{len(workers) - SHOWN_ROWS} more", ""))
    row = Table.grid(expand=True, padding=(0, 1))
    row.add_column(ratio=1)
    row.add_column(ratio=2)
    row.add_row(
        Panel(_grid(tenant_rows or [("none waiting or running", "")]), title="tenants (queued / running)"),
        Panel(
            _grid(worker_rows or [("no live worker", "")]), title="workers (running/capacity, heartbeat age)"
        ),
    )
    return row
