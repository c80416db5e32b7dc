"""`traffic-tool checks …` and `traffic-tool webhooks …`: recurring checks and their alert channels."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from jobcore.check_models import CheckRun, CheckView
from traffic_tool.checks_client import ChecksClient
from traffic_tool.client import ApiClientError
from traffic_tool.client_state import resolve
from traffic_tool.commands.client_cmds import ApiUrl, Token, _job_body, err, out

checks_app = typer.Typer(
    help="Recurring checks: a job on a schedule, alerting once per state change.", no_args_is_help=True
)
webhooks_app = typer.Typer(help="Signed webhooks that receive check and job events.", no_args_is_help=True)

CheckId = Annotated[str, typer.Argument(help="the id `checks create` printed")]
WebhookId = Annotated[str, typer.Argument(help="the id `webhooks create` printed")]


@contextmanager
def client(url: str, token: str) -> Iterator[ChecksClient]:
    """A client (no URL or token given: the local stack's, from .state/); any API error becomes one
    line on stderr and exit code 1."""
    target = resolve(url, token)
    api = ChecksClient(target.api_url, target.token)
    try:
        yield api
    except ApiClientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    finally:
        api.close()


def _seconds(ms: int | None) -> str:
    if ms is None:
        return "?"
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


def run_strip(runs: list[CheckRun]) -> Table:
    """The last runs, oldest to newest left to right: ✓ or ✗ (↻ when a recheck decided) and durations."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    ordered = list(reversed(runs))
    marks, durations = [], []
    for run in ordered:
        mark = Text("✓" if run.ok else "✗", style="green" if run.ok else "red")
        if run.rechecked:
            mark.append("↻", style="yellow")
        marks.append(mark)
        durations.append(Text(_seconds(run.duration_ms), style="dim"))
    for _ in ordered:
        table.add_column(justify="center")
    if ordered:
        table.add_row(*marks)
        table.add_row(*durations)
    return table


def _describe(check: CheckView) -> None:
    colour = {"ok": "green", "failing": "red"}.get(check.state.value, "yellow")
    paused = "" if check.enabled else "  [yellow](paused)[/yellow]"
    out.print(f"{check.check_id}  {check.name}  [{colour}]{check.state.value}[/{colour}]{paused}")
    rechecked = ", rechecked once" if check.alert.recheck else ""
    hooks = ", ".join(check.alert.webhooks) or "none"
    out.print(
        f"schedule {check.schedule}; alert after {check.alert.after_failures} failures{rechecked}; "
        f"webhooks {hooks}"
    )
    if check.incident is not None:
        out.print(
            f"[red]incident open since {check.incident.opened_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{check.incident.failures} failed runs[/red]"
        )


@checks_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="what the check is called")],
    schedule: Annotated[str, typer.Option(help="rate(5 minutes) or cron(0/10 * * * ? *), UTC")],
    url: Annotated[
        list[str] | None, typer.Option("--url", help="a page to visit; repeat for more sessions")
    ] = None,
    job_file: Annotated[
        typer.FileText | None, typer.Option("--job", help="a job JSON file instead of --url")
    ] = None,
    after_failures: Annotated[
        int, typer.Option(min=1, help="consecutive failed runs that open an incident")
    ] = 2,
    recheck: Annotated[bool, typer.Option(help="re-run a failed run once before it counts")] = True,
    webhook: Annotated[
        list[str] | None, typer.Option("--webhook", help="a webhook id to alert; repeatable")
    ] = None,
    expect_analytics: Annotated[
        bool, typer.Option(help="fail sessions where no analytics tag fires")
    ] = False,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Create a check: its job runs on the schedule; alerts go to the webhooks once per state change."""
    import json
    from pathlib import Path

    path = Path(job_file.name) if job_file is not None else None
    job = (
        json.loads(job_file.read())
        if job_file is not None
        else _job_body(url, path, "normal", expect_analytics)
    )
    body = {
        "name": name,
        "schedule": schedule,
        "job": job,
        "alert": {"after_failures": after_failures, "recheck": recheck, "webhooks": webhook or []},
    }
    with client(api_url, token) as api:
        check = api.create_check(body)
    err.print(f"check {check.check_id} created ({check.schedule})")
    out.print(check.check_id)


@checks_app.command("list")
def list_checks(api_url: ApiUrl = "", token: Token = "") -> None:
    """The tenant's checks and their state."""
    with client(api_url, token) as api:
        checks = api.list_checks().checks
    table = Table("check", "name", "schedule", "state", "enabled")
    table.columns[0].no_wrap = True
    for c in checks:
        table.add_row(c.check_id, c.name, c.schedule, c.state.value, "yes" if c.enabled else "paused")
    out.print(table)


@checks_app.command("show")
def show(check_id: CheckId, api_url: ApiUrl = "", token: Token = "") -> None:
    """A check's state and its last runs as a strip of ✓/✗ with durations (oldest left)."""
    with client(api_url, token) as api:
        check = api.get_check(check_id)
    _describe(check)
    if check.runs:
        out.print(run_strip(check.runs))
        last = check.runs[0]
        out.print(
            f"last run: job {last.job_id} scheduled {last.scheduled_at:%Y-%m-%d %H:%M:%S} UTC"
            + (f", errors: {', '.join(last.errors)}" if last.errors else "")
        )
    else:
        out.print("no runs yet")


@checks_app.command("run")
def run(check_id: CheckId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Run a check now (its result counts like a scheduled run)."""
    with client(api_url, token) as api:
        accepted = api.run_check(check_id)
    err.print(f"check {check_id} run queued as job {accepted.job_id}")
    out.print(accepted.job_id)


@checks_app.command("pause")
def pause(check_id: CheckId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Stop a check's schedule (its state and history stay)."""
    with client(api_url, token) as api:
        _describe(api.patch_check(check_id, {"enabled": False}))


@checks_app.command("resume")
def resume(check_id: CheckId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Start a paused check's schedule again."""
    with client(api_url, token) as api:
        _describe(api.patch_check(check_id, {"enabled": True}))


@checks_app.command("delete")
def delete(check_id: CheckId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Delete a check, its schedule and its history."""
    with client(api_url, token) as api:
        api.delete_check(check_id)
    err.print(f"check {check_id} deleted")


@webhooks_app.command("create")
def create_webhook(
    url: Annotated[str, typer.Option(help="the receiver's https URL")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="job.completed, check.failing or check.recovered; repeatable"),
    ] = None,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """Register a webhook. Its signing secret is printed this once: store it now."""
    with client(api_url, token) as api:
        hook = api.create_webhook(url, event or ["check.failing", "check.recovered"])
    err.print(f"webhook {hook.webhook_id} for {', '.join(hook.events)}; signing secret (shown once):")
    out.print(f"{hook.webhook_id} {hook.secret}")


@webhooks_app.command("list")
def list_webhooks(api_url: ApiUrl = "", token: Token = "") -> None:
    """The tenant's webhooks (secrets are never shown again)."""
    with client(api_url, token) as api:
        hooks = api.list_webhooks().webhooks
    table = Table("webhook", "url", "events")
    table.columns[0].no_wrap = True
    for h in hooks:
        table.add_row(h.webhook_id, h.url, ", ".join(h.events))
    out.print(table)


@webhooks_app.command("deliveries")
def deliveries(
    webhook_id: WebhookId,
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    api_url: ApiUrl = "",
    token: Token = "",
) -> None:
    """A webhook's recent deliveries, newest first, dead-lettered ones included."""
    with client(api_url, token) as api:
        listed = api.deliveries(webhook_id, status).deliveries
    table = Table("delivery", "event", "status", "attempts", "last answer", "created (UTC)")
    table.columns[0].no_wrap = True
    for d in listed:
        answer = d.last_error or (str(d.last_status) if d.last_status else "")
        table.add_row(
            d.delivery_id, d.event, d.status, str(d.attempts), answer, f"{d.created_at:%m-%d %H:%M:%S}"
        )
    out.print(table)


@webhooks_app.command("test")
def send_test(webhook_id: WebhookId, api_url: ApiUrl = "", token: Token = "") -> None:
    """Queue a signed test delivery (see `webhooks deliveries` for how it went)."""
    with client(api_url, token) as api:
        queued = api.test_webhook(webhook_id)
    out.print(f"test delivery {queued.delivery_id} queued")
