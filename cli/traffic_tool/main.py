"""`traffic-tool`: one typer app; each command lives in its own module under traffic_tool.commands."""

from __future__ import annotations

import sys

import typer

try:  # typer vendors click since 0.2x; older releases depend on it
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from traffic_tool.commands import (
    api_cmd,
    capacity_cmd,
    checks_cmds,
    client_cmds,
    demo_cmd,
    dev_cmd,
    dlq_cmd,
    evidence_cmds,
    scale_cmd,
    simulate_cmd,
    token_cmd,
    top_cmd,
    worker_cmd,
)

app = typer.Typer(
    name="traffic-tool",
    help="Run headless-browser sessions as jobs: the local stack, the job API, workers and a client.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(name="demo")(demo_cmd.demo)
app.command(name="dev")(dev_cmd.dev)
app.command(name="api")(api_cmd.api)
app.command(name="worker")(worker_cmd.worker)
app.command(name="submit")(client_cmds.submit)
app.command(name="status")(client_cmds.status)
app.command(name="results")(client_cmds.results)
app.command(name="cancel")(client_cmds.cancel)
app.command(name="list")(client_cmds.list_jobs)
app.command(name="report")(evidence_cmds.report)
app.command(name="artifacts")(evidence_cmds.artifacts)
app.command(name="scale")(scale_cmd.scale)
app.command(name="top")(top_cmd.top)
app.command(name="simulate")(simulate_cmd.simulate_cmd)
app.command(name="capacity")(capacity_cmd.capacity)
app.command(name="token")(token_cmd.token)
app.add_typer(dlq_cmd.app, name="dlq")
app.add_typer(checks_cmds.checks_app, name="checks")
app.add_typer(checks_cmds.webhooks_app, name="webhooks")


def main() -> None:
    """The console script: a usage mistake is one line on stderr (exit 2), never a traceback."""
    if len(sys.argv) <= 1:
        app(["--help"])
    try:
        code = app(standalone_mode=False)
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "traffic-tool"
        print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
        sys.exit(2)
    except click_errors.ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
