"""`traffic-tool top`: the dashboard's panels, live in the terminal, read from Redis every second."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from jobcore.errors import StoreUnavailableError
from jobcore.redis_conn import connect_probe
from jobcore.settings import Settings
from traffic_tool.fleet_panels import render_frame
from traffic_tool.fleet_snapshot import FleetSnapshot, read_snapshot

REFRESH_S = 1.0
err = Console(stderr=True)


def top(
    redis_url: Annotated[
        str | None, typer.Option(help="TRAFFIC_TOOL_REDIS_URL (`traffic-tool dev` prints its own)")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="print one frame and exit")] = False,
) -> None:
    """A live view of the fleet: sessions, queue, workers, API requests, bandwidth, errors by type."""
    settings = Settings(redis_url=redis_url) if redis_url else Settings()
    client = connect_probe(settings)
    if once:
        try:
            Console().print(render_frame(read_snapshot(client)))
        except StoreUnavailableError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
        return
    previous: FleetSnapshot | None = None
    with Live(Text("reading Redis…"), refresh_per_second=4, screen=False) as live:
        try:
            while True:
                try:
                    snapshot = read_snapshot(client)
                    live.update(render_frame(snapshot, previous))
                    previous = snapshot
                except StoreUnavailableError as exc:
                    live.update(Text(f"Redis unavailable: {exc} (retrying)", style="red"))
                time.sleep(REFRESH_S)
        except KeyboardInterrupt:
            pass
