"""Worker processes kept at a desired count: the local stack's CapacityBackend, and the tests' fleet.

Like an ECS service it keeps the desired count running (a worker that died is
replaced) and stops extra workers with SIGTERM, so they hand back what they
cannot finish; past the stop timeout the whole process group is killed.
`traffic-tool dev` reconciles between scheduler runs; a test can also have a
thread reconcile every fraction of a second (`supervise`), kill a worker
(`kill_one`) and read every worker's log, the replaced ones' too.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

from jobcore.settings import settings_env
from traffic_tool.local.worker_launcher import LOOPBACK_SETTINGS, SERVING, WorkerProcess

STOP_TIMEOUT_S = 30.0


class LocalWorkerFleet:
    def __init__(
        self, env: dict[str, str], log_dir: Path, stop_timeout_s: float = STOP_TIMEOUT_S, clean: bool = False
    ) -> None:
        """`env` (and with `clean`, nothing else TRAFFIC_TOOL_*) is what each worker gets."""
        self.env = env
        self.log_dir = log_dir
        self.stop_timeout_s = stop_timeout_s
        self.clean = clean
        self.desired = 0
        self.running: list[WorkerProcess] = []
        self.stopping: list[WorkerProcess] = []
        self.retired: list[WorkerProcess] = []  # every worker that has ended, for its log
        self.kills = 0
        self._serial = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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
            for w in [w for w in self.running if not w.alive()]:
                self.running.remove(w)
                self._retire(w)
            while len(self.running) < self.desired:
                self.running.append(self._spawn())
            while len(self.running) > self.desired:
                w = self.running.pop()  # the newest first, as ECS's default placement would
                w.request_stop()
                self.stopping.append(w)
            for w in list(self.stopping):
                if not w.alive():
                    self.stopping.remove(w)
                    self._retire(w)
                elif (
                    w.stopping_since is not None and time.monotonic() - w.stopping_since > self.stop_timeout_s
                ):
                    w.kill_group()

    def _spawn(self) -> WorkerProcess:
        self._serial += 1
        name = f"worker-{self._serial}"
        return WorkerProcess(self.log_dir / f"{name}.log", self.env, clean=self.clean)

    def _retire(self, w: WorkerProcess) -> None:
        w.close()
        self.retired.append(w)

    def alive(self) -> int:
        with self._lock:
            return sum(1 for w in self.running if w.alive())

    # ---- hooks for tests ----------------------------------------------------------------------

    def supervise(self, every_s: float = 0.2) -> None:
        """Reconcile from a thread of its own until `shutdown`: a dead worker is replaced within `every_s`."""

        def loop() -> None:
            while not self._stop.wait(every_s):
                self.reconcile()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def wait_serving(self, timeout: float = 60.0) -> None:
        for w in list(self.running):
            w.wait_log(SERVING, timeout)

    def kill_one(self, rng: random.Random) -> int | None:
        """SIGKILL one serving worker (not one still starting) and wait for it; returns its pid."""
        with self._lock:
            serving = [w for w in self.running if w.alive() and SERVING in w.log()]
            if not serving:
                return None
            victim = rng.choice(serving)
            victim.signal(signal.SIGKILL)
            victim.proc.wait(10)
            self.kills += 1
            return victim.pid

    def all_logs(self) -> str:
        with self._lock:
            return "\n".join(w.log() for w in [*self.retired, *self.stopping, *self.running])

    # ---- the end ------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL past the stop timeout) and wait for all of them."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            self.desired = 0
            self.reconcile()
            deadline = time.monotonic() + self.stop_timeout_s + 5
            while self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
                self.reconcile()
            for w in self.stopping:
                w.kill_group()
                w.proc.wait()
                self._retire(w)
            self.stopping.clear()


def loopback_fleet(redis_url: str, log_dir: Path, count: int, **settings: object) -> LocalWorkerFleet:
    """`count` workers with `LOOPBACK_SETTINGS` (`settings` win), serving, a dead one replaced at once."""
    env = settings_env(**{**LOOPBACK_SETTINGS, "redis_url": redis_url, **settings})
    fleet = LocalWorkerFleet(env, log_dir, stop_timeout_s=20.0, clean=True)
    try:
        fleet.set_desired(count)
        fleet.wait_serving()
    except BaseException:
        fleet.shutdown()
        raise
    fleet.supervise()
    return fleet
