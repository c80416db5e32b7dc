"""`traffic-tool demo`: the local stack, a sample site, one job, its results table, then exit."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from traffic_tool.commands.dev_cmd import _sigterm_as_interrupt

out = Console()
err = Console(stderr=True, soft_wrap=True)
DEMO_TOKEN = "demo-token"  # noqa: S105 - the local demo's own tenant, on loopback only


def demo_job(site_url: str) -> dict[str, Any]:
    """Light, heavy, a page whose analytics tag is missing, and a scripted visit."""
    expect = {"analytics": True}
    return {
        "priority": "high",
        "labels": {"run": "demo"},
        "sessions": [
            {"url": f"{site_url}/light.html", "expect": expect},
            {"url": f"{site_url}/heavy.html", "expect": expect},
            {"url": f"{site_url}/plain.html", "expect": expect, "timeout_s": 10},
            {
                "url": f"{site_url}/light.html",
                "steps": [
                    {"action": "fill", "selector": "#q", "value": "traffic-tool"},
                    {"action": "click", "selector": "#go"},
                ],
                "expect": {"analytics": True, "selector": "#title"},
            },
            {"url": f"{site_url}/missing.html", "expect": {"status": 200}},
        ],
    }


def demo(
    port: Annotated[int, typer.Option(help="the job API's port (0: any free port)")] = 0,
    keep_state: Annotated[bool, typer.Option(help="keep Redis data and worker logs afterwards")] = False,
) -> None:
    """Start the local stack and a sample site, run one job of several sessions, show the results, exit."""
    from traffic_tool.client import ApiClient, ApiClientError
    from traffic_tool.local.redis_process import free_port
    from traffic_tool.local.sample_site import SampleSite
    from traffic_tool.local.stack import LocalStack
    from traffic_tool.local.stack_config import StackConfig
    from traffic_tool.paths import project_root
    from traffic_tool.render import error_notes, results_table, wait_with_progress

    state = Path(tempfile.mkdtemp(prefix="traffic-tool-demo-"))
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    # Ctrl-C stops everything, even when started from a script that left SIGINT ignored (`cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    site = SampleSite().start()
    config = StackConfig(
        project_root=project_root(), state_dir=state, port=port or free_port(), tokens=f"demo={DEMO_TOKEN}",
        allow_targets=f"127.0.0.1:{site.port}", min_workers=1, max_workers=2, speed=10.0,
    )  # fmt: skip
    stack = LocalStack(config, say=lambda line: err.print(f"[dim]{line}[/dim]", highlight=False))
    code = 0
    try:
        err.print(f"sample site on {site.url('/')}")
        stack.start()
        with ApiClient(stack.api_url, DEMO_TOKEN) as client:
            accepted = client.submit(demo_job(site.url("").rstrip("/")))
            err.print(f"submitted job {accepted.job_id} ({accepted.sessions} sessions)")
            view = wait_with_progress(lambda: client.get(accepted.job_id), err, timeout_s=300)
        out.print(results_table(view))
        for line in error_notes(view):
            out.print(line, highlight=False)
        if view.status != "completed":
            err.print(f"[red]the job did not finish in time ({view.status})[/red]")
            code = 1
        else:
            err.print(
                "the failed sessions fail on purpose: no analytics tag on plain.html, a 404 for missing.html"
            )
    except ApiClientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        code = 1
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    finally:
        stack.stop()
        site.stop()
        if keep_state:
            err.print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    raise typer.Exit(code=code)
