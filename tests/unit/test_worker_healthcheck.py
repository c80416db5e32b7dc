"""The container health check reads the age of the worker's heartbeat, not whether a process exists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from jobcore.settings import Settings
from worker.healthcheck import check, touch_heartbeat


def test_a_fresh_heartbeat_is_healthy_and_a_stale_or_missing_one_is_not(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    settings = Settings(heartbeat_file=str(beat), heartbeat_s=5.0)
    assert check(settings)[0] is False  # never beat
    touch_heartbeat(str(beat))
    assert check(settings)[0] is True
    now = time.time()
    os.utime(beat, (now - 16, now - 16))  # three beats and a second missed
    healthy, reason = check(settings)
    assert healthy is False and "limit 15 s" in reason
    assert check(Settings(heartbeat_file=""))[0] is False


def test_the_command_ecs_runs_exits_by_the_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    env = {**os.environ, "TRAFFIC_TOOL_HEARTBEAT_FILE": str(beat)}
    command = [sys.executable, "-m", "worker.healthcheck"]
    assert subprocess.run(command, check=False, env=env, capture_output=True, timeout=60).returncode == 1
    beat.touch()
    assert subprocess.run(command, check=False, env=env, capture_output=True, timeout=60).returncode == 0
