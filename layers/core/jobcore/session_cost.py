"""The cost ledger of one session: what it used (CPU-seconds, wall time, bytes) and what that is
estimated to cost under the price file. Pure arithmetic, shared by the worker (which records it in each
result), the API (which sums it per job) and the capacity simulator.

The estimate prices what the session used on a fully used task: its CPU-seconds at the task's
vCPU-second price, its slot of the task's memory for its wall time, and its bytes through the NAT
gateway. Idle capacity, Redis, the API and the NAT's hourly charge are fleet costs, not a session's:
`traffic-tool simulate` adds them to give the cost per session of a whole fleet.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobcore.models import SessionCost, SessionResult
from jobcore.prices import PriceBook

_HOUR_S = 3600.0
_GB = 1e9


@dataclass(frozen=True)
class TaskShape:
    """A worker task as the template sizes it (WorkerCpu/1024, WorkerMemory/1024, SessionsPerWorker)."""

    vcpu: float = 2.0
    memory_gb: float = 4.0
    sessions: int = 4


def session_cost(
    cpu_s: float, wall_s: float, nbytes: int, prices: PriceBook, task: TaskShape, spot: bool = False
) -> SessionCost:
    vcpu_hour = prices.usd("fargate_spot_vcpu_hour" if spot else "fargate_vcpu_hour")
    gb_hour = prices.usd("fargate_spot_gb_hour" if spot else "fargate_gb_hour")
    cpu_s, wall_s, nbytes = max(0.0, cpu_s), max(0.0, wall_s), max(0, nbytes)
    cpu = cpu_s * vcpu_hour / _HOUR_S
    memory = wall_s * (task.memory_gb / max(1, task.sessions)) * gb_hour / _HOUR_S
    network = nbytes / _GB * prices.usd("nat_gateway_gb")
    return SessionCost(
        cpu_s=round(cpu_s, 3), wall_s=round(wall_s, 3), bytes=nbytes, usd=round(cpu + memory + network, 9)
    )


def job_cost(sessions: list[SessionResult]) -> SessionCost | None:
    """A job's sessions summed (None while no session has a cost yet)."""
    costs = [s.cost for s in sessions if s.cost is not None]
    if not costs:
        return None
    return SessionCost(
        cpu_s=round(sum(c.cpu_s for c in costs), 3),
        wall_s=round(sum(c.wall_s for c in costs), 3),
        bytes=sum(c.bytes for c in costs),
        usd=round(sum(c.usd for c in costs), 9),
    )
