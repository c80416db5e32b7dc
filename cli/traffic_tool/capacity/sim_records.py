"""The fleet simulation's inputs and records: the fleet's configuration, arrivals, sessions, tasks,
samples over time, the scaler's decisions and the run's result."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from jobcore.scaling import ScalingPolicy

PRIORITIES = ("high", "normal", "low")


@dataclass(frozen=True)
class FleetConfig:
    sessions_per_task: int = 4
    min_tasks: int = 2
    max_tasks: int = 10
    fixed_tasks: int | None = None  # a fixed fleet, no scaler
    spot_share: float = 0.75  # of the tasks above the baseline (FargateSpotWeight 3 → 3 of 4)
    task_vcpu: float = 2.0
    task_memory_gb: float = 4.0
    startup_s: float = 60.0
    stop_timeout_s: float = 120.0  # the task definition's StopTimeout; Spot's notice is 2 minutes
    scaler_period_s: float = 60.0
    spot_interruptions_per_task_hour: float = 0.0
    cpu_s_per_session: float = 0.0  # 0: sessions never contend for CPU
    max_backlog: int = 100_000
    tenant_quota: int = 20_000
    policy: ScalingPolicy | None = None  # None: the template's policy with min/max from above

    def scaling_policy(self) -> ScalingPolicy:
        return replace(self.policy or ScalingPolicy(), min_tasks=self.min_tasks, max_tasks=self.max_tasks)


@dataclass(frozen=True)
class Arrival:
    t: float
    tenant: str = "t0"
    priority: str = "normal"


@dataclass(eq=False)
class Session:
    sid: int
    arrived: float
    tenant: str
    priority: str
    started: float = -1.0
    finished: float = -1.0
    run_s: float = 0.0
    attempt: int = 0  # bumped by every start; a finish event of an older attempt is stale
    handed_back: int = 0
    task: int = -1


@dataclass(eq=False)
class Task:
    tid: int
    spot: bool
    launched: float
    ready: float
    state: str = "starting"  # starting, ready, draining (Spot notice), stopped
    stopped: float = -1.0
    stop_when_idle: bool = False  # chosen for scale-in while busy: scale-in protection holds it
    running: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Sample:
    t: float
    arrivals_per_min: float
    backlog: int
    running: int
    tasks: int  # launched and not stopped (what is billed)
    desired: int
    p95_wait_s: float | None


@dataclass(frozen=True)
class DecisionRecord:
    t: float
    backlog: int
    running: int
    current: int
    desired: int
    reason: str


@dataclass
class SimResult:
    config: FleetConfig
    horizon_s: float
    end_s: float
    sessions: list[Session]
    refused: int
    samples: list[Sample]
    decisions: list[DecisionRecord]
    task_seconds: dict[str, float]  # baseline (on-demand up to min_tasks), on_demand (above it), spot
    busy_slot_s: float
    ready_slot_s: float
    peak_tasks: int
    interruptions: int
    handed_back: int


def assign_arrivals(
    times: list[float],
    rng: random.Random,
    tenants: int = 1,
    priority_mix: tuple[float, float, float] = (0.0, 1.0, 0.0),
) -> list[Arrival]:
    """Each arrival gets a tenant (uniformly) and a priority (by the mix)."""
    names = [f"t{i}" for i in range(max(1, tenants))]
    out = []
    for t in times:
        tenant = names[0] if len(names) == 1 else rng.choice(names)
        priority = rng.choices(PRIORITIES, weights=priority_mix)[0] if priority_mix[1] < 1.0 else "normal"
        out.append(Arrival(t, tenant, priority))
    return out
