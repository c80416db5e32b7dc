"""`traffic-tool api`: the job API's Lambda handlers behind the local HTTP adapter."""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from jobcore.settings import Settings, settings_env
from traffic_tool.local.stack_config import LOCAL_API_PORT

err = Console(stderr=True, soft_wrap=True)


def configure_environment(**values: str | None) -> Settings:
    """Export flags as TRAFFIC_TOOL_* for the handlers, and check them the way a cold start would."""
    os.environ.update(settings_env(**{name: value for name, value in values.items() if value is not None}))
    try:
        return Settings()
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


def api(
    port: Annotated[int, typer.Option(help="port to listen on (127.0.0.1)")] = LOCAL_API_PORT,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    tokens: Annotated[str | None, typer.Option(help="tenant=token,… (TRAFFIC_TOOL_TOKENS)")] = None,
    operators: Annotated[
        str | None, typer.Option(help="names in --tokens with the operator role (TRAFFIC_TOOL_OPERATORS)")
    ] = None,
    allow_targets: Annotated[
        str | None, typer.Option(help="CIDRs exempt from the egress guard (TRAFFIC_TOOL_ALLOW_TARGETS)")
    ] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (TRAFFIC_TOOL_REDIS_URL)")] = None,
    access_log: Annotated[bool, typer.Option(help="print one line per request")] = False,
    processes: Annotated[
        int,
        typer.Option(
            min=1, max=16, help="processes serving the port, like Lambda's concurrent execution environments"
        ),
    ] = 1,
) -> None:
    """Serve the job API on this machine: the same handlers, the routes read from template.yaml."""
    from traffic_tool.local import prefork
    from traffic_tool.local.adapter import LocalApi, LocalApiServer
    from traffic_tool.local.prometheus_text import prometheus_source
    from traffic_tool.paths import project_root

    # Request threads share the GIL: a short switch interval keeps one request's CPU work from
    # holding the others for the default 5 ms at a time (tail latency at a steady rate).
    sys.setswitchinterval(0.001)
    settings = configure_environment(
        tokens=tokens, operators=operators, allow_targets=allow_targets, redis_url=redis_url
    )
    if not settings.token_map:
        err.print(
            "[yellow]warning:[/yellow] no tokens configured (--tokens tenant=token); every request gets 403"
        )
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch to read EMF lines here
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "traffic-tool-api")
    api = LocalApi(project_root())
    metrics = prometheus_source(settings.redis_url)

    def make_server(bind_port: int) -> LocalApiServer:
        return LocalApiServer(
            (host, bind_port), api, access_log=access_log, metrics=metrics, reuse_port=processes > 1
        )

    try:
        server = make_server(port)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot listen on {host}:{port}: {exc.strerror}")
        raise typer.Exit(code=1) from None
    err.print(
        f"job API on {server.url} (Redis {settings.redis_url}, {processes} process"
        f"{'es' if processes > 1 else ''}); Prometheus text on {server.url}/metrics"
    )
    # Everything loaded so far (handlers, Powertools, pydantic schemas) lives as long as the process:
    # kept out of the collector, a full collection no longer walks it mid-request.
    gc.collect()
    gc.freeze()
    prefork.serve(server, make_server, processes)
