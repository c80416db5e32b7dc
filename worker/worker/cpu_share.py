"""Each session's CPU-seconds, as the worker measures them: the CPU time of the worker's whole process
tree (this process, Playwright's driver, every Chromium process and renderer, and what they reaped) read
whenever a session starts or ends, each interval's use shared evenly by the sessions in flight during it.

A session's figure is therefore its renderer's work plus its share of the browser and of the worker. A
process that starts and exits between two readings without being reaped inside the tree is missed, so
the figure is a lower bound; `make bench-worker` prints the whole machine's figure beside it.
"""

from __future__ import annotations

import contextlib
import os

import psutil


def tree_cpu_s(root: psutil.Process) -> float:
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


class CpuShare:
    """begin(key) when a session starts, end(key) -> its CPU-seconds when it ends. Event loop only."""

    def __init__(self, pid: int | None = None) -> None:
        self._root = psutil.Process(pid or os.getpid())
        self._last = tree_cpu_s(self._root)
        self._shares: dict[str, float] = {}

    def _settle(self) -> None:
        now = tree_cpu_s(self._root)
        used, self._last = max(0.0, now - self._last), now  # a reaped process may shrink the sum briefly
        if self._shares:
            each = used / len(self._shares)
            for key in self._shares:
                self._shares[key] += each

    def begin(self, key: str) -> None:
        self._settle()
        self._shares[key] = 0.0

    def end(self, key: str) -> float:
        self._settle()
        return self._shares.pop(key, 0.0)
