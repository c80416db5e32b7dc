"""`traffic-tool`: one typer app; each command lives in its own module under traffic_tool.commands."""

from __future__ import annotations

import typer

from traffic_tool.commands import api_cmd, client_cmds, demo_cmd, dev_cmd, scale_cmd, worker_cmd

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
app.command(name="scale")(scale_cmd.scale)


if __name__ == "__main__":
    app()
