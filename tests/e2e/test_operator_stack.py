"""An operator's day on the local stack: `dev` in one terminal; in another (same folder, no flags, no
TRAFFIC_TOOL_* environment) `top --once` and `submit --wait` just work; a tenant's token is refused the
operator routes; a poison session is dead-lettered, listed with its reason, redriven (twice: queued
once), and ends ok once the page is fixed."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.poison_site import PoisonSite
from tests.support.processes import leftovers, read_until_ready, stack_processes
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until
from traffic_tool.local.sample_site import SampleSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env["COLUMNS"] = "250"  # one table row per line
    env["PYTHONPATH"] = os.pathsep.join(
        str(ROOT / p) for p in ("layers/core", "worker", "cli", "functions/api", "functions/authorizer")
    )
    return {**env, **extra}


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", *args],
        capture_output=True, text=True, timeout=120, env=clean_env(), cwd=cwd, check=False,
    )  # fmt: skip


def test_an_operator_runs_top_submit_and_the_dead_letters_against_dev_with_no_settings(
    tmp_path: Path,
) -> None:
    site = SampleSite().start()
    before = stack_processes()
    # Given `traffic-tool dev` (a short lease, one attempt, fast schedules: the poison dies quickly)
    dev = subprocess.Popen(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", "dev",
         "--port", str(free_port()), "--speed", "30", "--min-workers", "1", "--max-workers", "1",
         "--allow-targets", "127.0.0.1/32"],  # the test's sites; the stack's own ports stay refused
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env=clean_env(TRAFFIC_TOOL_LEASE_S="3", TRAFFIC_TOOL_MAX_ATTEMPTS="1",
                      TRAFFIC_TOOL_HEARTBEAT_S="0.5"),
    )  # fmt: skip
    lines: list[str] = []
    poison: PoisonSite | None = None
    try:
        read_until_ready(dev, lines)
        state = tmp_path / ".state" / "client.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600, "".join(lines)
        saved = json.loads(state.read_text())
        operator = httpx.Client(
            base_url=saved["api_url"], headers={"Authorization": f"Bearer {saved['token']}"}, timeout=30
        )

        # When top and submit run with no flags and no environment, they find the stack
        top = cli(tmp_path, "top", "--once")
        assert top.returncode == 0, top.stderr
        assert "active sessions" in top.stdout and "live workers" in top.stdout
        submitted = cli(tmp_path, "submit", "--url", site.url("/light.html"), "--wait")
        assert submitted.returncode == 0, submitted.stderr
        assert re.search(r"/light\.html\s+│ ok\s+│\s+200", submitted.stdout), submitted.stdout

        # A tenant's token is refused the operator routes
        for path in ("/fleet", "/dead-letters"):
            reply = httpx.get(saved["api_url"] + path, headers={"Authorization": "Bearer local-token"})
            assert reply.status_code == 403 and reply.json()["error"]["type"] == "forbidden", path

        # A poison session (it kills its worker) is dead-lettered and listed with its reason
        redis_url = next(m.group(1) for ln in lines if (m := re.search(r"redis-server on (\S+)", ln)))
        poison = PoisonSite(redis_url).start()
        poison.wait_for_session_s = 10
        queued = cli(tmp_path, "submit", "--url", poison.url())
        assert queued.returncode == 0, queued.stderr
        job_id = queued.stdout.strip()
        poison.session = (job_id, 0)
        wait_until(lambda: bool(operator.get("/dead-letters").json()["dead_letters"]), 90, "the dead letter")
        listed = cli(tmp_path, "dlq", "list")
        assert listed.returncode == 0, listed.stderr
        [row] = [ln for ln in listed.stdout.splitlines() if job_id in ln]
        entry_id = row.split("│")[1].strip()
        assert "worker_died" in row and "browser_crash" in row, listed.stdout
        assert poison.kills and poison.requests == 1

        # Once the page is fixed, a redrive (asked twice) queues it once and it ends ok
        poison.wait_for_session_s, poison.session = 0, None
        first, second = cli(tmp_path, "dlq", "redrive", entry_id), cli(tmp_path, "dlq", "redrive", entry_id)
        assert first.returncode == 0 and f"{entry_id}  requeued" in first.stdout, first.stderr
        assert second.returncode == 0 and f"{entry_id}  gone" in second.stdout, second.stderr
        wait_until(lambda: operator.get(f"/jobs/{job_id}").json()["status"] == "completed", 90, "the redrive")
        [session] = operator.get(f"/jobs/{job_id}").json()["sessions"]
        assert (session["status"], session["attempts"], poison.requests) == ("ok", 1, 2), session
        assert [n["event"] for n in session["history"]] == ["redriven"]
        assert operator.get("/dead-letters").json()["dead_letters"] == []
    finally:
        dev.send_signal(signal.SIGINT)
        rest, _ = dev.communicate(timeout=120)
        lines.append(rest)
        site.stop()
        if poison is not None:
            poison.stop()
    assert dev.returncode == 0, "".join(lines)
    assert not (tmp_path / ".state" / "client.json").exists()  # the token ends with the stack
    left = leftovers(before)
    assert left == set(), describe(left)


def describe(pids: set[int]) -> list[str]:
    import psutil

    out = []
    for pid in sorted(pids):
        try:
            p = psutil.Process(pid)
            out.append(f"{pid} ppid={p.ppid()} {' '.join(p.cmdline())[:160]}")
        except psutil.Error:
            continue
    return out
