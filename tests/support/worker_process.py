"""A worker as its own OS process (`python -m worker.main`), for tests that signal or kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from worker.orphan_reaper import OWNER_ENV

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, redis_url: str, log_path: Path, **settings: Any) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
        values: dict[str, Any] = {
            "redis_url": redis_url, "allow_targets": "127.0.0.1/32", "offline_dns": "1", "lease_s": 2,
            "sessions_per_worker": 2, "browsers_per_worker": 1, "heartbeat_s": 0.5, "claim_poll_s": 0.1,
            "session_grace_s": 2, "stop_timeout_s": 5, "renderer_heap_mb": 128,
        }  # fmt: skip
        values.update(settings)
        env.update({f"TRAFFIC_TOOL_{k.upper()}": str(v) for k, v in values.items()})
        env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("worker", "layers/core", "cli", "."))
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker.main"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited ({self.proc.returncode}) before logging {text!r}:\n{self.log()}"
                )
            time.sleep(0.1)
        raise AssertionError(f"worker did not log {text!r} in {timeout} s:\n{self.log()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return int(self.proc.returncode)

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)


def chrome_owned_by(pid: int) -> list[int]:
    """Chrome processes carrying `pid` as their owner mark (what the reaper looks for)."""
    found = []
    for proc in psutil.process_iter():
        try:
            name = proc.name().lower()
            chrome = "chrom" in name or "headless_shell" in name
            if chrome and proc.environ().get(OWNER_ENV) == str(pid) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found
