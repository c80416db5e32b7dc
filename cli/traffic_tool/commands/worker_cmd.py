"""`traffic-tool worker`: the container's entry point. Flags mirror TRAFFIC_TOOL_* settings; a flag
that is not given leaves the environment's value (or the default) in place."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobcore.settings import Settings


def worker(
    redis_url: Annotated[str | None, typer.Option(help="TRAFFIC_TOOL_REDIS_URL")] = None,
    sessions: Annotated[
        int | None, typer.Option(help="concurrent sessions (TRAFFIC_TOOL_SESSIONS_PER_WORKER)")
    ] = None,
    browsers: Annotated[
        int | None, typer.Option(help="browsers in the pool (TRAFFIC_TOOL_BROWSERS_PER_WORKER)")
    ] = None,
    headful: Annotated[bool | None, typer.Option("--headful/--headless", help="TRAFFIC_TOOL_HEADFUL")] = None,
    chromium_path: Annotated[str | None, typer.Option(help="TRAFFIC_TOOL_CHROMIUM_PATH")] = None,
    allow_targets: Annotated[str | None, typer.Option(help="TRAFFIC_TOOL_ALLOW_TARGETS (CIDRs)")] = None,
    offline_dns: Annotated[
        bool | None, typer.Option("--offline-dns/--online-dns", help="tests/local only")
    ] = None,
    bucket: Annotated[str | None, typer.Option(help="screenshot bucket (TRAFFIC_TOOL_BUCKET)")] = None,
    stop_timeout: Annotated[float | None, typer.Option(help="TRAFFIC_TOOL_STOP_TIMEOUT_S")] = None,
    extra_ca_file: Annotated[
        str | None,
        typer.Option(help="PEM of CAs the browsers trust besides the system's (TRAFFIC_TOOL_EXTRA_CA_FILE)"),
    ] = None,
) -> None:
    """Run one worker process: claim sessions from Redis and run them in Chromium."""
    from worker.main import main

    flags: dict[str, Any] = {
        "redis_url": redis_url, "sessions_per_worker": sessions, "browsers_per_worker": browsers,
        "headful": headful, "chromium_path": chromium_path, "allow_targets": allow_targets,
        "offline_dns": offline_dns, "bucket": bucket, "stop_timeout_s": stop_timeout,
        "extra_ca_file": extra_ca_file,
    }  # fmt: skip
    settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    raise typer.Exit(code=main(settings))
