"""`traffic-tool top`: the dashboard's panels, live in the terminal, from GET /fleet every second.
It needs an operator token and the API's URL, like every client command; no Redis URL."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from traffic_tool.client import ApiClientError
from traffic_tool.commands.client_cmds import ApiUrl, Token, api
from traffic_tool.fleet_panels import render_frame
from traffic_tool.fleet_snapshot import FleetSnapshot, snapshot

REFRESH_S = 1.0
err = Console(stderr=True)


def top(
    once: Annotated[bool, typer.Option("--once", help="print one frame and exit")] = False,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """A live view of the fleet (operator token): sessions, queue, workers, tenants, API requests,
    bandwidth, errors by type."""
    with api(api_url, token) as client:
        if once:
            Console().print(render_frame(snapshot(client.fleet())))
            return
        previous: FleetSnapshot | None = None
        with Live(Text("reading GET /fleet…"), refresh_per_second=4, screen=False) as live:
            try:
                while True:
                    try:
                        now = snapshot(client.fleet())
                        live.update(render_frame(now, previous))
                        previous = now
                    except ApiClientError as exc:
                        live.update(Text(f"{exc} (retrying)", style="red"))
                    time.sleep(REFRESH_S)
            except KeyboardInterrupt:
                pass
