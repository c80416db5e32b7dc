"""`traffic-tool dev`: the local stack, until Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from traffic_tool.client_state import STATE_DIR
from traffic_tool.local.stack_config import StackConfig

err = Console(stderr=True, soft_wrap=True)

Port = Annotated[int, typer.Option(help="the job API's port on 127.0.0.1")]
Tokens = Annotated[str, typer.Option(help="tenant=token,… the API accepts")]
Operators = Annotated[
    str, typer.Option(help="names in --tokens whose tokens carry the operator role (/fleet, /dead-letters)")
]
LOCAL_OPERATOR = "local-operator"  # the operator whose fresh token dev writes to .state/client.json
AllowTargets = Annotated[
    str,
    typer.Option(help="addresses (CIDR or ip:port) sessions may reach besides the bundled sample site"),
]
MinWorkers = Annotated[int, typer.Option(min=0, help="fewest worker processes")]
MaxWorkers = Annotated[int, typer.Option(min=1, help="most worker processes")]
Speed = Annotated[float, typer.Option(min=1.0, help="run schedules and cooldowns this many times faster")]
StateDir = Annotated[Path, typer.Option(help="Redis data and worker logs")]
OfflineDns = Annotated[
    bool,
    typer.Option(
        "--offline-dns/--online-dns", help="browsers resolve only loopback (default), or use real DNS"
    ),
]


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def dev(
    port: Port = StackConfig.port,
    tokens: Tokens = StackConfig.tokens,
    operators: Operators = "",
    allow_targets: AllowTargets = "",
    min_workers: MinWorkers = StackConfig.min_workers,
    max_workers: MaxWorkers = StackConfig.max_workers,
    speed: Speed = StackConfig.speed,
    state_dir: StateDir = STATE_DIR,
    offline_dns: OfflineDns = StackConfig.offline_dns,
) -> None:
    """Run the whole system on this machine (Redis, moto, the API, schedules, workers) until Ctrl-C."""
    from traffic_tool.client_state import ClientState, remove_client_state, write_client_state
    from traffic_tool.local.sample_site import SampleSite
    from traffic_tool.local.stack import LocalStack
    from traffic_tool.paths import project_root

    if min_workers > max_workers:
        err.print(f"[red]error:[/red] --min-workers ({min_workers}) is above --max-workers ({max_workers})")
        raise typer.Exit(code=2)
    site = SampleSite().start()
    # Sessions reach the sample site and what --allow-targets names; never the stack's own services.
    allowed = ",".join(filter(None, [f"127.0.0.1:{site.port}", allow_targets]))
    operator_token = secrets.token_urlsafe(32)  # a new one per run: a stale copy opens nothing
    config = StackConfig(
        project_root=project_root(), state_dir=state_dir.resolve(), port=port,
        tokens=f"{tokens},{LOCAL_OPERATOR}={operator_token}",
        operators=",".join(filter(None, (operators, LOCAL_OPERATOR))),
        allow_targets=allowed, min_workers=min_workers, max_workers=max_workers, speed=speed,
        offline_dns=offline_dns,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    # Ctrl-C stops everything, even when started from a script that left SIGINT ignored (`cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = LocalStack(config, say=lambda line: err.print(line, highlight=False))
    try:
        err.print(f"sample site on {site.url('/')}")
        stack.start()
    except (OSError, RuntimeError) as exc:
        site.stop()
        err.print(f"[red]error:[/red] the local stack could not start: {exc}")
        raise typer.Exit(code=1) from None
    saved = write_client_state(state_dir, ClientState(stack.api_url, operator_token))
    err.print(
        f"ready. In another terminal here: traffic-tool top, or traffic-tool submit --url "
        f"{site.url('/light.html')} --wait (the API URL and the {LOCAL_OPERATOR} token are in {saved}, "
        "mode 0600; Ctrl-C stops everything)"
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        err.print("stopping…")
    finally:
        remove_client_state(state_dir)
        stack.stop()
        site.stop()
        err.print("stopped: workers, API, moto, redis-server and the sample site")
