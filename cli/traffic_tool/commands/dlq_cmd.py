"""`traffic-tool dlq list|show|redrive`: dead-lettered sessions of every tenant (operator token)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jobcore.constants import DeadLetterReason
from jobcore.operator_models import DeadLetter
from traffic_tool.commands.client_cmds import ApiUrl, Token, api

out = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="Dead-lettered sessions: list them, show one, redrive them (operator token).")

Tenant = Annotated[str | None, typer.Option(help="only this tenant's")]
Reason = Annotated[DeadLetterReason | None, typer.Option(help="only this reason")]


def _table(letters: list[DeadLetter]) -> Table:
    table = Table("id", "tenant", "job/session", "attempts", "reason", "last error", "dead at (UTC)")
    table.columns[0].no_wrap = table.columns[2].no_wrap = True  # ids are copied from here
    for d in letters:
        table.add_row(
            d.id, d.tenant, f"{d.job_id}/{d.session_index}", str(d.attempts), d.reason.value,
            f"{d.error.type.value}: {d.error.message}", d.dead_at.strftime("%m-%d %H:%M:%S"),
        )  # fmt: skip
    return table


@app.command(name="list")
def list_dead_letters(
    tenant: Tenant = None,
    reason: Reason = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="entries per page")] = 20,
    cursor: Annotated[str | None, typer.Option(help="the cursor the previous page printed")] = None,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Dead letters, newest first."""
    with api(api_url, token) as client:
        page = client.dead_letters(tenant, reason.value if reason else None, limit, cursor)
    out.print(_table(page.dead_letters))
    if page.next_cursor:
        err.print(f"more: --cursor {page.next_cursor}")


@app.command(name="show")
def show(
    entry_id: Annotated[str, typer.Argument(help="a dead-letter id, as `dlq list` prints it")],
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """One dead letter, as JSON."""
    with api(api_url, token) as client:
        print(client.dead_letter(entry_id).model_dump_json(indent=2))


@app.command(name="redrive")
def redrive(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="dead-letter ids; or use a filter")] = None,
    tenant: Tenant = None,
    reason: Reason = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="with a filter: at most this many")] = 20,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Re-queue dead-lettered sessions, once each, attempts reset."""
    if entry_ids and (tenant or reason):
        err.print("[red]error:[/red] give ids or a filter (--tenant, --reason), not both")
        raise typer.Exit(code=2)
    if not entry_ids and not (tenant or reason):
        err.print("[red]error:[/red] give ids, or a filter (--tenant and/or --reason)")
        raise typer.Exit(code=2)
    body: dict[str, Any] = {"ids": entry_ids} if entry_ids else {"limit": limit}
    if tenant:
        body["tenant"] = tenant
    if reason:
        body["reason"] = reason.value
    with api(api_url, token) as client:
        result = client.redrive(body)
    for o in result.outcomes:
        where = f"  job {o.job_id} session {o.session_index}" if o.job_id else ""
        out.print(f"{o.id}  {o.outcome}{where}", highlight=False)
    err.print(f"{result.requeued} session(s) re-queued")
