"""A result with its cost ledger: the session's CPU-seconds, wall time and bytes priced by jobcore."""

from __future__ import annotations

from jobcore.models import SessionResult
from jobcore.prices import default_prices
from jobcore.session_cost import TaskShape, session_cost
from jobcore.settings import Settings


def with_cost(result: SessionResult, cpu_s: float, settings: Settings) -> SessionResult:
    task = TaskShape(
        settings.worker_cpu_units / 1024, settings.worker_memory_mb / 1024, settings.sessions_per_worker
    )
    wall_s = (result.timings_ms.total or 0) / 1000
    nbytes = result.bytes_in + result.bytes_out  # the NAT gateway charges both directions
    cost = session_cost(cpu_s, wall_s, nbytes, default_prices(), task)
    return result.model_copy(update={"cost": cost})
