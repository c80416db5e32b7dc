"""Starting `traffic-tool worker` processes: the one launcher behind `traffic-tool dev`, the tests and the
benchmarks, so each of them runs the command a worker task runs.

A worker starts in its own session (its Playwright driver shares its process group; the browsers lead
groups of their own), with its output in one log file, in the code this process imports: the launcher
puts the folders `jobcore`, `worker` and `traffic_tool` came from first on the child's PYTHONPATH, so a
checkout's worker runs the checkout's code whatever the virtualenv has installed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import IO

import psutil

import jobcore
import traffic_tool
import worker
from jobcore.constants import ENV_PREFIX
from jobcore.settings import settings_env
from worker.orphan_reaper import owner_of

SERVING = "serving"  # what a worker logs once it claims work (`worker <id> serving: ...`)

# A worker for a run on one machine against loopback sites (tests, benchmarks): no DNS, short leases and
# beats so a lost worker shows in seconds, a small renderer heap so a memory bomb ends fast.
LOOPBACK_SETTINGS: dict[str, object] = {
    "allow_targets": "127.0.0.1/32", "offline_dns": "1", "lease_s": 2, "sessions_per_worker": 2,
    "browsers_per_worker": 1, "heartbeat_s": 0.5, "claim_poll_s": 0.1, "session_grace_s": 2,
    "stop_timeout_s": 5, "renderer_heap_mb": 128,
}  # fmt: skip


def _code_root(package: ModuleType) -> str:
    return str(Path(next(iter(package.__path__))).resolve().parent)


def code_path() -> str:
    """A PYTHONPATH under which a child imports the same jobcore, worker and traffic_tool as this process."""
    roots = dict.fromkeys(_code_root(p) for p in (traffic_tool, worker, jobcore))
    return os.pathsep.join([*roots, *filter(None, [os.environ.get("PYTHONPATH")])])


class WorkerProcess:
    """One `traffic-tool worker` process writing to `log_path`.

    `env` is laid over this process's environment; with `clean=True` the TRAFFIC_TOOL_* variables of this
    process are left out first, so the worker has exactly the settings `env` names and the defaults.
    """

    def __init__(self, log_path: Path, env: Mapping[str, str], clean: bool = False) -> None:
        base = {k: v for k, v in os.environ.items() if not (clean and k.startswith(ENV_PREFIX))}
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "traffic_tool.main", "worker"],
            env={**base, **env, "PYTHONPATH": code_path()},
            cwd=log_path.parent,  # not a project root, whose worker/ folder would shadow the package
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.stopping_since: float | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the log holds `text`; AssertionError when the worker exits first or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if not self.alive():
                raise AssertionError(
                    f"worker exited ({self.proc.returncode}) before logging {text!r}:\n{self.log()}"
                )
            time.sleep(0.1)
        raise AssertionError(f"worker did not log {text!r} in {timeout} s:\n{self.log()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        """Signal the worker alone (a SIGKILL leaves its browsers behind, as a crash would)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def request_stop(self) -> None:
        """SIGTERM, as ECS stops a task: the worker stops claiming and hands back what it cannot finish."""
        self.signal(signal.SIGCONT)  # a stopped worker cannot honour it otherwise
        self.signal(signal.SIGTERM)
        self.stopping_since = time.monotonic()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then past `timeout` SIGKILL for its whole group; returns the exit code."""
        if self.alive():
            self.request_stop()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
                self.proc.wait(10)
        self.close()
        return int(self.proc.returncode)

    def close(self) -> None:
        self._log.close()

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)


def loopback_worker(redis_url: str, log_path: Path, **settings: object) -> WorkerProcess:
    """A worker with `LOOPBACK_SETTINGS` (`settings` win) and no TRAFFIC_TOOL_* of this environment."""
    return WorkerProcess(
        log_path, settings_env(**{**LOOPBACK_SETTINGS, "redis_url": redis_url, **settings}), True
    )


def chrome_owned_by(pid: int) -> list[int]:
    """Live Chrome processes carrying `pid` as their owner mark (what the orphan reaper looks for)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if owner_of(proc) == pid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found
