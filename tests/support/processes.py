"""What a stack leaves behind: the Chromium, redis-server and worker processes alive now."""

from __future__ import annotations

import subprocess
import time

import psutil

_WATCHED = ("chrom", "headless_shell", "redis-server")


def stack_processes() -> set[int]:
    """PIDs of live (not zombie) Chromium, redis-server and `traffic-tool worker` processes."""
    found = set()
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            name = (proc.info["name"] or "").lower()
            cmdline = " ".join(proc.info["cmdline"] or [])
            if any(w in name for w in _WATCHED) or "traffic_tool.main worker" in cmdline:
                found.add(proc.pid)
        except psutil.Error:
            continue
    return found


def leftovers(before: set[int], wait_s: float = 10.0) -> set[int]:
    """Processes of that kind started since `before` and still alive after up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        extra = stack_processes() - before
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.2)


def read_until_ready(proc: subprocess.Popen[str], lines: list[str]) -> None:
    """Read a stack's output into `lines` up to its `ready.` line (or its end, when it exits first)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("ready."):
            return
