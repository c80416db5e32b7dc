"""`report` and `artifacts`: a job's HTML report and its sessions' evidence, on the user's disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from traffic_tool.commands.client_cmds import ApiUrl, JobId, Token, api
from traffic_tool.evidence import download_artifacts, write_report

err = Console(stderr=True, soft_wrap=True)


def report(
    job_id: JobId,
    output: Annotated[Path, typer.Option("-o", "--output", help="the HTML file to write")] = Path(
        "report.html"
    ),
    with_files: Annotated[
        bool, typer.Option("--with-files", help="download the artifacts beside the report and link them")
    ] = False,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Write a job's report: one self-contained HTML page (summary, timeline, sessions, evidence)."""
    with api(api_url, token) as client:
        view = client.get(job_id)
        write_report(client, view, output, with_files)
    err.print(f"report of job {job_id} written to {output}")


def artifacts(
    job_id: JobId,
    session: Annotated[int | None, typer.Option("--session", min=0, help="only this session's")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to download into")] = Path("."),
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Download a job's artifacts (screenshot, HAR, trace, console, DOM) into DIR/<session>/."""
    with api(api_url, token) as client:
        view = client.get(job_id)
        written = download_artifacts(client, view, output, session)
    for path in written:
        print(path)
    if not written:
        err.print("no stored artifacts" + (f" for session {session}" if session is not None else ""))
