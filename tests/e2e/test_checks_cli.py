"""`traffic-tool checks …` and `traffic-tool webhooks …` against the local API, as a person uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tests.support.api_process import TOKENS, ApiProcess
from tests.support.redis_server import RedisServer
from traffic_tool.main import app


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", *args],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def api() -> Iterator[ApiProcess]:
    server = RedisServer().start()
    process = ApiProcess(server.url).start()
    yield process
    process.stop()
    server.cleanup()


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ("checks", ["create", "list", "show", "run", "pause", "resume", "delete"]),
        ("webhooks", ["create", "list", "deliveries", "test"]),
    ],
)
def test_the_groups_list_their_commands(group: str, commands: list[str]) -> None:
    reply = CliRunner().invoke(app, [group, "--help"], terminal_width=200)
    assert reply.exit_code == 0, reply.output
    for command in commands:
        assert command in reply.output


def test_a_check_from_creation_to_deletion(api: ApiProcess) -> None:
    auth = ["--api-url", api.url, "--token", TOKENS["tenant-a"]]
    made = cli("webhooks", "create", "--url", "http://127.0.0.1:9/hook", *auth)
    assert made.returncode == 0, made.stderr
    webhook_id, secret = made.stdout.split()
    assert secret.startswith("whsec_") and "shown once" in made.stderr
    assert secret not in cli("webhooks", "list", *auth).stdout

    created = cli("checks", "create", "--name", "home", "--schedule", "rate(5 minutes)",
                  "--url", "http://127.0.0.1:9/", "--webhook", webhook_id, *auth)  # fmt: skip
    assert created.returncode == 0, created.stderr
    check_id = created.stdout.strip()
    assert check_id in cli("checks", "list", *auth).stdout
    shown = cli("checks", "show", check_id, *auth)
    assert "home  pending" in shown.stdout and "no runs yet" in shown.stdout
    assert "(paused)" in cli("checks", "pause", check_id, *auth).stdout
    assert "(paused)" not in cli("checks", "resume", check_id, *auth).stdout
    ran = cli("checks", "run", check_id, *auth)
    assert ran.returncode == 0 and len(ran.stdout.strip()) == 32
    assert "queued" in cli("webhooks", "test", webhook_id, *auth).stdout
    assert "webhook.test" in cli("webhooks", "deliveries", webhook_id, *auth).stdout
    assert cli("checks", "delete", check_id, *auth).returncode == 0
    gone = cli("checks", "show", check_id, *auth)
    assert gone.returncode == 1 and "not found" in gone.stderr

    bad = cli(
        "checks",
        "create",
        "--name",
        "x",
        "--schedule",
        "rate(30 seconds)",
        "--url",
        "http://127.0.0.1:9/",
        *auth,
    )
    assert bad.returncode == 1 and "minute(s), hour(s) or day(s)" in bad.stderr
    refused = cli("webhooks", "create", "--url", "http://169.254.169.254/", *auth)
    assert refused.returncode == 1 and "metadata" in refused.stderr
