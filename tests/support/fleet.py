"""A test-side stand-in for the ECS service: keeps N worker processes running, replaces dead ones."""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support.worker_process import WorkerProcess

# what the worker logs once the queue accepted its result (the fenced write succeeded)
WRITTEN = re.compile(r"session ([0-9a-f]{32})/(\d+) (ok|failed) error=")


class Fleet:
    def __init__(self, redis_url: str, log_dir: Path, count: int, **settings: Any) -> None:
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.count = count
        self.settings = settings
        self.workers: list[WorkerProcess] = []
        self.retired: list[WorkerProcess] = []
        self.kills = 0
        self._serial = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True)

    def start(self, wait: bool = True) -> Fleet:
        with self._lock:
            while len(self.workers) < self.count:
                self.workers.append(self._spawn())
        if wait:
            for w in list(self.workers):
                w.wait_log("serving", timeout=60)
        self._thread.start()
        return self

    def _spawn(self) -> WorkerProcess:
        self._serial += 1
        return WorkerProcess(self.redis_url, self.log_dir / f"worker-{self._serial}.log", **self.settings)

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            self.replace_dead()

    def replace_dead(self) -> int:
        with self._lock:
            dead = [w for w in self.workers if w.proc.poll() is not None]
            for w in dead:
                self.workers.remove(w)
                w.stop()
                self.retired.append(w)
                self.workers.append(self._spawn())
            return len(dead)

    def kill_random(self, rng: random.Random) -> int | None:
        """SIGKILL one serving worker (not one still starting); returns its pid."""
        with self._lock:
            serving = [w for w in self.workers if w.proc.poll() is None and "serving" in w.log()]
            if not serving:
                return None
            victim = rng.choice(serving)
            victim.signal(signal.SIGKILL)
            victim.proc.wait(10)
            self.kills += 1
            return victim.pid

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        with self._lock:
            for w in self.workers:
                w.stop()
            self.retired += self.workers
            self.workers = []

    def all_logs(self) -> str:
        return "\n".join(w.log() for w in [*self.retired, *self.workers])

    def written_results(self) -> Counter[tuple[str, int]]:
        """How many times the queue accepted a worker's result, per (job id, session index)."""
        return Counter((m[1], int(m[2])) for m in WRITTEN.finditer(self.all_logs()))


def wait_until(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout} s")
