"""`submit`, `status`, `results`, `cancel`, `list`: the job API's client commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jobcore.settings import env_name
from traffic_tool.client import ApiClient, ApiClientError
from traffic_tool.client_state import DEFAULT_API, resolve
from traffic_tool.evidence import write_report
from traffic_tool.junit import junit_xml
from traffic_tool.render import ENDED, cost_line, error_notes, results_table, wait_with_progress

out = Console()
err = Console(stderr=True, soft_wrap=True)

ApiUrl = Annotated[
    str,
    typer.Option(
        "--api-url",
        envvar=env_name("api_url"),
        help="the job API's base URL [default: what `traffic-tool dev` wrote to .state/, else "
        f"{DEFAULT_API}]",
        show_default=False,
    ),
]
Token = Annotated[
    str,
    typer.Option(
        "--token",
        envvar=env_name("token"),
        help="bearer token [default: the local stack's, from .state/]",
        show_default=False,
    ),
]
JobId = Annotated[str, typer.Argument(help="the job id POST /jobs returned")]


@contextmanager
def api(url: str, token: str, error_code: int = 1) -> Iterator[ApiClient]:
    """A client (no URL or token given: the local stack's, from .state/); any API error becomes one
    line on stderr and exit code `error_code`."""
    target = resolve(url, token)
    client = ApiClient(target.api_url, target.token)
    try:
        yield client
    except ApiClientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=error_code) from None
    finally:
        client.close()


def _job_body(url: list[str] | None, job_file: Path | None, priority: str, analytics: bool) -> dict[str, Any]:
    if job_file is not None:
        try:
            body: dict[str, Any] = json.loads(job_file.read_text())
        except (OSError, ValueError) as exc:
            err.print(f"[red]error:[/red] cannot read job file {job_file}: {exc}")
            raise typer.Exit(code=2) from None
        return body
    if not url:
        err.print("[red]error:[/red] give --url (repeatable) or a job JSON file")
        raise typer.Exit(code=2)
    sessions = [{"url": u, "expect": {"analytics": analytics}} for u in url]
    return {"sessions": sessions, "priority": priority}


def submit(
    job_file: Annotated[Path | None, typer.Argument(help="a job JSON file (the POST /jobs body)")] = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", help="a page to visit; repeat for more sessions")
    ] = None,
    priority: Annotated[str, typer.Option(help="high, normal or low")] = "normal",
    expect_analytics: Annotated[
        bool, typer.Option(help="fail sessions where no analytics tag fires")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            help="show a progress bar until the job ends, then its results; exit 0 when every session "
            "is ok, 1 when any is not, 2 on usage or API errors (a CI gate)"
        ),
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="with --wait: write JUnit XML, one case per session")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="with --wait: write the job's HTML report")
    ] = None,
    wait_timeout: Annotated[float, typer.Option(min=1, help="seconds --wait waits for the job")] = 600,
    idempotency_key: Annotated[str | None, typer.Option(help="reuse to make a retried submit safe")] = None,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Submit a job: one session per --url, or a job JSON file."""
    body = _job_body(url, job_file, priority, expect_analytics)
    wait = wait or junit is not None or report is not None
    # As a CI gate (--wait), 1 means "a session failed": an API error must not look like that.
    with api(api_url, token, error_code=2 if wait else 1) as client:
        accepted = client.submit(body, idempotency_key)
        err.print(f"job {accepted.job_id} queued with {accepted.sessions} sessions")
        if not wait:
            out.print(accepted.job_id)
            return
        view = wait_with_progress(lambda: client.get(accepted.job_id), err, timeout_s=wait_timeout)
        out.print(results_table(view))
        for line in error_notes(view):
            out.print(line, highlight=False)
        if junit is not None:
            junit.write_text(junit_xml(view), encoding="utf-8")
        if report is not None:
            write_report(client, view, report)
    if view.status not in ENDED:
        err.print(f"[red]error:[/red] job {view.job_id} did not end within {wait_timeout:g} s")
        raise typer.Exit(code=2)
    if any(s.status != "ok" for s in view.sessions):
        raise typer.Exit(code=1)


def status(job_id: JobId, api_url: ApiUrl = "", token: Token = "") -> None:
    """A job's status and progress counts."""
    with api(api_url, token) as client:
        view = client.get(job_id)
    p = view.progress
    out.print(
        f"{view.job_id}  {view.status}  total {p.total}: {p.queued} queued, {p.running} running, "
        f"{p.ok} ok, {p.failed} failed, {p.cancelled} cancelled"
    )


def results(
    job_id: JobId,
    as_json: Annotated[bool, typer.Option("--json", help="print the job as JSON")] = False,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """A job's session results, as a table or JSON."""
    with api(api_url, token) as client:
        view = client.get(job_id)
    if as_json:
        print(view.model_dump_json(indent=2))
    else:
        out.print(results_table(view))
        if (cost := cost_line(view)) is not None:
            out.print(cost, highlight=False)
        for line in error_notes(view):
            out.print(line, highlight=False)


def cancel(job_id: JobId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Cancel the sessions of a job that have not started."""
    with api(api_url, token) as client:
        view = client.cancel(job_id)
    out.print(f"{view.job_id}  {view.status}  {view.progress.cancelled} sessions cancelled")


def list_jobs(
    limit: Annotated[int, typer.Option(min=1, max=100, help="jobs per page")] = 20,
    cursor: Annotated[str | None, typer.Option(help="the cursor the previous page printed")] = None,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """The tenant's recent jobs, newest first."""
    with api(api_url, token) as client:
        page = client.list(limit, cursor)
    table = Table("job", "status", "priority", "created (UTC)", "ok/failed/total")
    table.columns[0].no_wrap = True  # ids are copied from here: never folded
    for job in page.jobs:
        p = job.progress
        created = job.created_at.strftime("%m-%d %H:%M:%S")
        table.add_row(job.job_id, job.status, job.priority, created, f"{p.ok}/{p.failed}/{p.total}")
    out.print(table)
    if page.next_cursor:
        err.print(f"more: --cursor {page.next_cursor}")
