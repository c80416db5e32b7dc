"""The template's schedules, run on this machine: each function handler at its rate (or faster)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from traffic_tool.local.lambda_runtime import Handler, LocalContext, load_handler
from traffic_tool.local.template_routes import Schedule, load_schedules

Report = Callable[[str, dict[str, Any] | None, BaseException | None], None]


@dataclass
class LocalSchedule:
    """One schedule of the template as this machine runs it: its handler, its period at the stack's
    speed, and when it is next due (not jobcore.scheduled.ScheduledFunction, what the handler wears)."""

    schedule: Schedule
    handler: Handler
    interval_s: float
    next_run: float


class LocalScheduler:
    """One thread; runs each schedule's handler every interval / speed seconds, never two at once."""

    def __init__(
        self, project_root: Path, speed: float, report: Report, template: str = "template.yaml"
    ) -> None:
        self.report = report
        self.functions: list[LocalSchedule] = []
        now = time.monotonic()
        for schedule in load_schedules(project_root / template):
            if not schedule.enabled or schedule.interval_s is None:
                continue
            handler = load_handler(project_root, schedule.code_uri, schedule.handler)
            interval = max(0.5, schedule.interval_s / speed)
            self.functions.append(LocalSchedule(schedule, handler, interval, now + interval))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def run_now(self, function_logical_id: str) -> dict[str, Any] | None:
        for f in self.functions:
            if f.schedule.function_logical_id == function_logical_id:
                return self._invoke(f)
        raise KeyError(function_logical_id)

    def _run(self) -> None:
        while not self._stop.is_set():
            due = min((f.next_run for f in self.functions), default=time.monotonic() + 1)
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            for f in self.functions:
                if f.next_run <= time.monotonic():
                    f.next_run = time.monotonic() + f.interval_s
                    self._invoke(f)

    def _invoke(self, f: LocalSchedule) -> dict[str, Any] | None:
        event = f.schedule.render_input(datetime.now(UTC), str(uuid.uuid4()))
        try:
            result = f.handler(
                event, LocalContext(function_name=f.schedule.function_logical_id, timeout_s=60)
            )
        except Exception as exc:  # a failed run is reported and retried at the next period, as in AWS
            self.report(f.schedule.function_logical_id, None, exc)
            return None
        summary = result if isinstance(result, dict) else {"result": result}
        self.report(f.schedule.function_logical_id, summary, None)
        return summary
