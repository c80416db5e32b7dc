"""The task's health check against a real worker process: healthy while it beats against Redis,
unhealthy within three beats once Redis is gone, although the process is still running (the old
HEALTHCHECK, `pgrep`, would have called it healthy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_launcher import code_path, loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def healthy(beat: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env.update({"TRAFFIC_TOOL_HEARTBEAT_FILE": str(beat), "TRAFFIC_TOOL_HEARTBEAT_S": "0.5"})
    env["PYTHONPATH"] = code_path()
    command = [sys.executable, "-m", "worker.healthcheck"]
    return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False).returncode == 0


def test_the_health_check_follows_the_redis_heartbeat_not_the_process(tmp_path: Path) -> None:
    redis_server = RedisServer().start()
    beat = tmp_path / "heartbeat"
    worker = loopback_worker(redis_server.url, tmp_path / "worker.log", heartbeat_file=str(beat))
    try:
        wait_until(lambda: healthy(beat), 60, what="healthy at start")
        redis_server.stop()
        wait_until(lambda: not healthy(beat), 10, what="unhealthy once Redis is gone")
        assert worker.alive(), "the worker exited; the check must catch a live but cut-off worker"
        redis_server.start()  # same port: the worker beats again and turns healthy
        wait_until(lambda: healthy(beat), 30, what="healthy once Redis is back")
    finally:
        worker.stop()
        redis_server.cleanup()
