"""Worker processes that the scaler starts and stops: the local stack's CapacityBackend.

Like an ECS service it keeps the desired count running (a worker that died is
replaced) and stops extra workers with SIGTERM, so they hand back what they
cannot finish; past the stop timeout the whole process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

STOP_TIMEOUT_S = 30.0


@dataclass
class WorkerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float = field(default_factory=time.monotonic)
    stopping_since: float | None = None


class LocalWorkerFleet:
    def __init__(self, env: dict[str, str], log_dir: Path, stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.env = env
        self.log_dir = log_dir
        self.stop_timeout_s = stop_timeout_s
        self.desired = 0
        self.running: list[WorkerProcess] = []
        self.stopping: list[WorkerProcess] = []
        self._serial = 0
        self._lock = threading.RLock()
        log_dir.mkdir(parents=True, exist_ok=True)

    # ---- CapacityBackend ----------------------------------------------------------------------

    def current(self) -> int:
        return self.desired

    def set_desired(self, count: int) -> None:
        with self._lock:
            self.desired = max(0, count)
            self.reconcile()

    # ---- keeping the count ----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Replace dead workers, start or stop to reach the desired count, finish off slow stoppers."""
        with self._lock:
            for w in [w for w in self.running if w.proc.poll() is not None]:
                self.running.remove(w)
                w.log.close()
            while len(self.running) < self.desired:
                self.running.append(self._spawn())
            while len(self.running) > self.desired:
                w = self.running.pop()  # the newest first, as ECS's default placement would
                self._signal(w, signal.SIGTERM)
                w.stopping_since = time.monotonic()
                self.stopping.append(w)
            for w in list(self.stopping):
                if w.proc.poll() is not None:
                    self.stopping.remove(w)
                    w.log.close()
                elif (
                    w.stopping_since is not None and time.monotonic() - w.stopping_since > self.stop_timeout_s
                ):
                    self._signal(w, signal.SIGKILL)

    def _spawn(self) -> WorkerProcess:
        self._serial += 1
        name = f"worker-{self._serial}"
        log = (self.log_dir / f"{name}.log").open("ab")
        env = {**os.environ, **self.env, "TRAFFIC_TOOL_WORKER_ID": f"local-{name}-{os.getpid()}"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "traffic_tool.main", "worker"],
            env=env,
            cwd=self.log_dir,  # not the project root, whose worker/ folder would shadow the package
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Chromium processes share its group, so a kill reaches them
        )
        return WorkerProcess(name, proc, log)

    @staticmethod
    def _signal(w: WorkerProcess, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(w.proc.pid, sig)

    def alive(self) -> int:
        with self._lock:
            return sum(1 for w in self.running if w.proc.poll() is None)

    def shutdown(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL past the stop timeout) and wait for all of them."""
        with self._lock:
            self.desired = 0
            self.reconcile()
            deadline = time.monotonic() + self.stop_timeout_s + 5
            while self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
                self.reconcile()
            for w in self.stopping:
                self._signal(w, signal.SIGKILL)
                w.proc.wait()
                w.log.close()
            self.stopping.clear()
