"""The one-command local stack: the demo to its table, autoscaling by the scaler's policy, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from jobcore import keys
from jobcore.worker_registry import parse_workers
from tests.support.processes import leftovers, read_until_ready, stack_processes
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until
from traffic_tool.local.sample_site import SampleSite

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def traffic_tool(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env["COLUMNS"] = "200"  # one table row per line, whatever the terminal
    return subprocess.Popen(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


def test_the_demo_runs_to_its_results_table_and_leaves_nothing_behind() -> None:
    before = stack_processes()
    proc = traffic_tool("demo")
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    assert re.search(r"completed · 3 ok, 2 failed, 0 cancelled of 5", output), output
    assert re.search(r"/light\.html\s+│ ok\s+│\s+200", output), output
    assert re.search(r"/heavy\.html\s+│ ok\s+│\s+200", output), output
    assert "analytics_not_detected" in output and "expected HTTP 200, got 404" in output
    assert leftovers(before) == set()


def test_dev_scales_out_for_a_burst_and_back_in_when_idle(tmp_path: Path) -> None:
    # Given the dev stack at min 1 / max 4 workers, its schedules and cooldowns 30x faster
    site = SampleSite().start()
    port = free_port()
    before = stack_processes()
    proc = traffic_tool(
        "dev", "--port", str(port), "--tokens", "t=tok", "--min-workers", "1", "--max-workers", "4",
        "--speed", "30", "--state-dir", str(tmp_path / "state"), "--allow-targets", f"127.0.0.1:{site.port}",
    )  # fmt: skip
    lines: list[str] = []
    try:
        read_until_ready(proc, lines)
        redis_url = next(m.group(1) for ln in lines if (m := re.search(r"redis-server on (\S+)", ln)))
        r = redis.Redis.from_url(redis_url, decode_responses=True)

        def live_workers() -> int:
            return len(parse_workers(r.hgetall(keys.WORKERS), time.time()))  # type: ignore[arg-type]

        wait_until(lambda: live_workers() == 1, 60, "the first worker")
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer tok"}, timeout=30
        )
        # When a burst of 200 sessions arrives
        job_ids = []
        for _ in range(4):
            body = {"sessions": [{"url": site.url("/light.html"), "expect": {"analytics": True}}] * 50}
            reply = api.post("/jobs", json=body)
            assert reply.status_code == 202, reply.text
            job_ids.append(reply.json()["job_id"])
        # Then the scaler takes the fleet to its maximum
        wait_until(lambda: live_workers() == 4, 90, "4 workers")
        # and every session ends, none lost
        wait_until(
            lambda: all(api.get(f"/jobs/{j}").json()["status"] == "completed" for j in job_ids),
            300,
            "the burst",
        )
        views = [api.get(f"/jobs/{j}").json() for j in job_ids]
        assert sum(v["progress"]["ok"] for v in views) == 200, [v["progress"] for v in views]
        # And once idle, it steps back in to the minimum
        wait_until(lambda: live_workers() == 1, 180, "the scale-in to 1 worker")
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=120)
        lines.append(rest)
        site.stop()
    log = "".join(lines)
    assert proc.returncode == 0, log
    decisions = re.findall(r"ScalerFunction: \{.*\}", log)
    assert any("'desired': 4" in d for d in decisions), log
    assert any("'reason': 'idle'" in d and "'desired': 1" in d for d in decisions), log
    assert "stopped: workers, API, moto, redis-server and the sample site" in log
    assert leftovers(before) == set()
