"""The task's health check against a real worker process: healthy while it beats against Redis,
unhealthy within three beats once Redis is gone, although the process is still running (the old
HEALTHCHECK, `pgrep`, would have called it healthy)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer
from tests.support.worker_process import ROOT, WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def healthy(beat: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env.update({"TRAFFIC_TOOL_HEARTBEAT_FILE": str(beat), "TRAFFIC_TOOL_HEARTBEAT_S": "0.5"})
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("worker", "layers/core"))
    command = [sys.executable, "-m", "worker.healthcheck"]
    return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False).returncode == 0


def wait_until(check: bool, beat: Path, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if healthy(beat) is check:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"health check did not turn {'healthy' if check else 'unhealthy'} in {timeout_s} s")


def test_the_health_check_follows_the_redis_heartbeat_not_the_process(tmp_path: Path) -> None:
    redis_server = RedisServer().start()
    beat = tmp_path / "heartbeat"
    worker = WorkerProcess(redis_server.url, tmp_path / "worker.log", heartbeat_file=str(beat))
    try:
        wait_until(True, beat, timeout_s=60)
        redis_server.stop()
        took = wait_until(False, beat, timeout_s=20)
        assert worker.proc.poll() is None, "the worker exited; the check must catch a live but cut-off worker"
        assert took < 10
        redis_server.start()  # same port: the worker beats again and turns healthy
        wait_until(True, beat, timeout_s=30)
    finally:
        worker.stop()
        redis_server.cleanup()
