"""`traffic-tool scale --dry-run`: what the scaler would decide now, from the fleet's load in Redis."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from jobcore.errors import StoreUnavailableError
from jobcore.redis_conn import connect
from jobcore.scaler import load_state, read_load
from jobcore.scaling import ScalingPolicy, decide
from jobcore.settings import Settings

out = Console()
err = Console(stderr=True, soft_wrap=True)


def scale(
    current: Annotated[int, typer.Option(help="the desired count now in force")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the decision; change nothing")] = False,
    redis_url: Annotated[str | None, typer.Option(help="TRAFFIC_TOOL_REDIS_URL")] = None,
) -> None:
    """Show the scaling decision for the current load (the policy of the scaler function)."""
    if not dry_run:
        err.print(
            "[red]error:[/red] only --dry-run is supported here: the scaler function owns the desired count"
        )
        raise typer.Exit(code=2)
    settings = Settings(redis_url=redis_url) if redis_url else Settings()
    try:
        client = connect(settings)
        load, workers = read_load(client, settings.sessions_per_worker)
        state = load_state(client)
    except StoreUnavailableError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    decision = decide(current, load, state, ScalingPolicy.from_settings(settings), time.time())
    out.print(
        f"backlog {load.backlog}, running {load.running}, {workers} live workers of capacity "
        f"{load.task_capacity}: needed {decision.needed}, desired {decision.desired} "
        f"(now {decision.current}; {decision.reason}; utilisation {decision.utilisation:.0%})"
    )
