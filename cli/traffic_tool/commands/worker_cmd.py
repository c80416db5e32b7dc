"""`traffic-tool worker`: the container's entry point (implemented in the worker package)."""

from __future__ import annotations

import typer


def worker() -> None:
    """Run one worker process: claim sessions from Redis and run them in Chromium."""
    raise typer.Exit(code=2)
