"""The command line as a person meets it: accurate --help, one clear line for every mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from jobcore.tokens import hash_token
from tests.support.api_process import TOKENS, ApiProcess
from tests.support.redis_server import RedisServer
from traffic_tool.main import app

runner = CliRunner()

COMMANDS = {
    "demo": ["--port", "--keep-state"],
    "dev": [
        "--port",
        "--tokens",
        "--operators",
        "--allow-targets",
        "--min-workers",
        "--max-workers",
        "--speed",
    ],
    "api": ["--port", "--tokens", "--operators", "--allow-targets", "--redis-url"],
    "worker": ["--redis-url", "--sessions", "--headful"],
    "submit": ["--url", "--wait", "--junit", "--report", "--priority", "--api-url", "--token"],
    "report": ["--output", "--with-files", "--api-url"],
    "artifacts": ["--session", "--output", "--api-url"],
    "status": ["--api-url", "--token"],
    "results": ["--json", "--api-url"],
    "cancel": ["--api-url"],
    "list": ["--limit", "--cursor"],
    "scale": ["--current", "--dry-run", "--redis-url"],
    "token": ["--secret", "--operator"],
    "top": ["--once", "--api-url", "--token"],
    "dlq": ["list", "show", "redrive"],
}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", *args],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(("command", "options"), sorted(COMMANDS.items()))
def test_every_command_documents_its_options(command: str, options: list[str]) -> None:
    reply = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert reply.exit_code == 0, reply.output
    for option in options:
        assert option in reply.output, (command, option)


def test_the_top_level_help_lists_every_command() -> None:
    reply = runner.invoke(app, ["--help"], terminal_width=200)
    assert reply.exit_code == 0
    for command in COMMANDS:
        assert command in reply.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["submit", "--bogus"], "No such option: --bogus"),
        (["status"], "Missing argument"),
        (["nosuch"], "No such command"),
        (["list", "--limit", "0"], "--limit"),
        (["dev", "--min-workers", "3", "--max-workers", "1"], "--min-workers (3) is above --max-workers (1)"),
        (["token", "bad tenant!"], "tenant id"),
        (["dlq", "redrive"], "give ids, or a filter"),
        (["dlq", "redrive", "1-0", "--tenant", "a"], "not both"),
    ],
)
def test_a_mistake_is_one_line_without_a_traceback(args: list[str], says: str) -> None:
    reply = cli(*args)
    assert reply.returncode == 2
    lines = reply.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], reply.stderr
    assert "Traceback" not in reply.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["status", "0" * 32],
        ["list"],
        ["submit", "--url", "http://127.0.0.1:9/"],
        ["top", "--once"],
        ["dlq", "list"],
    ],
)
def test_an_unreachable_api_is_one_line(args: list[str]) -> None:
    reply = cli(*args, "--api-url", "http://127.0.0.1:1", "--token", "t")
    assert reply.returncode == 1
    assert reply.stderr.strip().splitlines() == [
        "error: cannot reach the API at http://127.0.0.1:1: [Errno 111] Connection refused (is it running?)"
    ]


def test_unreachable_redis_is_one_line() -> None:
    reply = cli("scale", "--current", "2", "--dry-run", "--redis-url", "redis://127.0.0.1:1/0")
    assert reply.returncode == 1
    assert len(reply.stderr.strip().splitlines()) == 1 and "unreachable" in reply.stderr


@pytest.fixture(scope="module")
def api() -> Iterator[ApiProcess]:
    server = RedisServer().start()
    process = ApiProcess(server.url, TRAFFIC_TOOL_TENANT_QUOTA="3", TRAFFIC_TOOL_RETRY_AFTER_S="7").start()
    yield process
    process.stop()
    server.cleanup()


def test_the_client_commands_against_the_local_api(api: ApiProcess) -> None:
    auth = ["--api-url", api.url, "--token", TOKENS["tenant-a"]]
    submitted = cli("submit", "--url", "http://127.0.0.1:9/a", "--url", "http://127.0.0.1:9/b", *auth)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert len(job_id) == 32 and "queued with 2 sessions" in submitted.stderr

    status = cli("status", job_id, *auth)
    assert f"{job_id}  queued  total 2: 2 queued" in status.stdout
    results = cli("results", job_id, "--json", *auth)
    assert [s["url"] for s in json.loads(results.stdout)["sessions"]] == [
        "http://127.0.0.1:9/a",
        "http://127.0.0.1:9/b",
    ]
    listed = cli("list", *auth)
    assert job_id in listed.stdout
    cancelled = cli("cancel", job_id, *auth)
    assert "cancelled  2 sessions cancelled" in cancelled.stdout


def test_client_errors_say_what_to_do(api: ApiProcess) -> None:
    wrong = cli("list", "--api-url", api.url, "--token", "not-a-token")
    assert wrong.returncode == 1 and "refused the token" in wrong.stderr
    missing = cli("list", "--api-url", api.url, "--token", "")
    assert missing.returncode == 1 and "TRAFFIC_TOOL_TOKEN" in missing.stderr
    auth = ["--api-url", api.url, "--token", TOKENS["tenant-b"]]
    assert cli("submit", "--url", "http://127.0.0.1:9/", *auth).returncode == 0
    crowded = cli(
        "submit",
        "--url",
        "http://127.0.0.1:9/",
        "--url",
        "http://127.0.0.1:9/",
        "--url",
        "http://127.0.0.1:9/",
        *auth,
    )
    assert crowded.returncode == 1
    assert "too many sessions queued" in crowded.stderr and "retry in 7 s" in crowded.stderr
    refused = cli("submit", "--url", "http://10.1.2.3/", *auth)
    assert refused.returncode == 1 and "10.1.2.3 is a private address" in refused.stderr


@mock_aws
def test_token_adds_a_hash_to_the_tokens_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="stack/tokens", SecretString=json.dumps({"old": "0" * 64}))
    reply = runner.invoke(app, ["token", "acme", "--secret", "stack/tokens"])
    assert reply.exit_code == 0, reply.output
    token = reply.stdout.strip().splitlines()[-1]
    stored = json.loads(sm.get_secret_value(SecretId="stack/tokens")["SecretString"])
    assert stored == {"old": "0" * 64, "acme": hash_token(token)}
    assert token not in json.dumps(stored)
    reply = runner.invoke(app, ["token", "ops", "--operator", "--secret", "stack/tokens"])
    assert reply.exit_code == 0, reply.output
    ops_token = reply.stdout.strip().splitlines()[-1]
    stored = json.loads(sm.get_secret_value(SecretId="stack/tokens")["SecretString"])
    assert stored["ops"] == {"hash": hash_token(ops_token), "role": "operator"}
    [audit] = [json.loads(line) for line in reply.stderr.splitlines() if '"audit"' in line]
    assert (audit["audit"], audit["name"], audit["role"], audit["secret"]) == (
        "token_created",
        "ops",
        "operator",
        "stack/tokens",
    )
    assert ops_token not in reply.stderr and hash_token(ops_token) not in reply.stderr
