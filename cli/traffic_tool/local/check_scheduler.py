"""The local stack's EventBridge Scheduler for checks: due times in Redis, the template's dispatcher.

Each check's schedule is a due time in Redis (`jobcore.check_schedules.RedisSchedules`, written by
the API at `--speed`); this thread claims the due ones and invokes the same dispatch handler the
cloud's schedules invoke, with the same event.
"""

from __future__ import annotations

import threading
from pathlib import Path

from jobcore.check_schedules import RedisSchedules
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from traffic_tool.local.lambda_runtime import LocalContext, load_handler
from traffic_tool.local.scheduler import Report
from traffic_tool.local.template_routes import load_function_code

DISPATCH_FUNCTION = "DispatchFunction"
POLL_S = 0.25


class LocalCheckScheduler:
    def __init__(self, project_root: Path, settings: Settings, report: Report) -> None:
        code = load_function_code(project_root / "template.yaml", DISPATCH_FUNCTION)
        self.handler = load_handler(project_root, code.code_uri, code.handler)
        self.schedules = RedisSchedules(connect(settings), settings.schedule_speed)
        self.report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="check-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.schedules.r.close()

    def tick(self) -> int:
        """Dispatch every check that is due; the number dispatched."""
        due = self.schedules.claim_due()
        for check in due:
            try:
                result = self.handler(
                    check.event(), LocalContext(function_name=DISPATCH_FUNCTION, timeout_s=30)
                )
            except Exception as exc:  # reported; the next due time still comes
                self.report(DISPATCH_FUNCTION, None, exc)
                continue
            self.report(DISPATCH_FUNCTION, result if isinstance(result, dict) else None, None)
        return len(due)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.tick()
            except Exception as exc:  # Redis gone for a moment: say so, keep going
                self.report(DISPATCH_FUNCTION, None, exc)
