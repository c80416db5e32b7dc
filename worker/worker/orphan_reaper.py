"""The orphan reaper: Chrome processes whose worker is gone, found by their owner mark, killed by group.

Every browser this worker launches carries TRAFFIC_TOOL_OWNER_PID in its
environment (inherited by its renderers and helpers) and leads its own process
group (Playwright launches it detached). A Chrome process is an orphan when its
owner is dead (a worker killed with -9 leaves its browsers behind), or when its
owner is this worker but its group is not one of the pool's live browsers
(helpers that outlived a closed or killed browser). Processes without the mark
belong to someone else and are never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

import psutil

log = logging.getLogger(__name__)

OWNER_ENV = "TRAFFIC_TOOL_OWNER_PID"
_CHROME_NAMES = ("chrom", "headless_shell")


def owner_of(proc: psutil.Process) -> int | None:
    """The worker pid a Chrome process is marked with, or None (not Chrome, unmarked, or gone)."""
    try:
        name = proc.name().lower()
        if not any(marker in name for marker in _CHROME_NAMES):
            return None
        value = proc.environ().get(OWNER_ENV)
    except (psutil.Error, OSError):
        return None
    return int(value) if value and value.isdigit() else None


def _alive(pid: int, not_after: float) -> bool:
    """Is `pid` a live process that already existed when the Chrome process started?"""
    try:
        return psutil.Process(pid).create_time() <= not_after + 1.0
    except psutil.Error:
        return False


def find_orphans(live_pgids: set[int], me: int | None = None) -> dict[int, list[int]]:
    """Orphaned Chrome processes by process group: {pgid: [pids]}."""
    me = os.getpid() if me is None else me
    groups: dict[int, list[int]] = {}
    for proc in psutil.process_iter():
        owner = owner_of(proc)
        if owner is None:
            continue
        try:
            pgid = os.getpgid(proc.pid)
            started = proc.create_time()
        except (psutil.Error, OSError):
            continue
        orphan = pgid not in live_pgids if owner == me else not _alive(owner, started)
        if orphan:
            groups.setdefault(pgid, []).append(proc.pid)
    return groups


def reap(live_pgids: set[int], me: int | None = None) -> int:
    """Kill every orphaned group; returns how many processes were orphaned."""
    groups = find_orphans(live_pgids, me)
    count = 0
    for pgid, pids in groups.items():
        count += len(pids)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        except PermissionError:
            # A group we cannot signal as a whole: kill the marked processes one by one.
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    if count:
        log.warning("reaped %d orphaned Chrome processes in %d process groups", count, len(groups))
    return count
