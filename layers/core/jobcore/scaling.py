"""The scaling policy: a pure function of numbers, shared by the scaler Lambda, the local stack
and the capacity simulator. desired = clamp(ceil((backlog + running) / per-task capacity), min, max),
out quickly in bounded steps, in one task at a time after several idle periods and a cooldown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from jobcore.settings import DEFAULTS, Settings


@dataclass(frozen=True)
class ScalingPolicy:
    """The scaler's settings at their defaults unless given (the seed's plan: min 2, max 10, out +2
    with a 2-minute cooldown, in -1 after 5 one-minute periods under 20% utilisation)."""

    min_tasks: int = DEFAULTS.min_workers
    max_tasks: int = DEFAULTS.max_workers
    max_step_out: int = DEFAULTS.scale_out_step
    out_cooldown_s: float = DEFAULTS.scale_out_cooldown_s
    in_cooldown_s: float = DEFAULTS.scale_in_cooldown_s
    idle_utilisation: float = DEFAULTS.scale_in_utilisation
    idle_periods_to_scale_in: int = DEFAULTS.scale_in_idle_periods

    @classmethod
    def from_settings(cls, settings: Settings) -> ScalingPolicy:
        return cls(
            min_tasks=settings.min_workers,
            max_tasks=settings.max_workers,
            max_step_out=settings.scale_out_step,
            out_cooldown_s=settings.scale_out_cooldown_s,
            in_cooldown_s=settings.scale_in_cooldown_s,
            idle_utilisation=settings.scale_in_utilisation,
            idle_periods_to_scale_in=settings.scale_in_idle_periods,
        )

    def __post_init__(self) -> None:
        if not 0 <= self.min_tasks <= self.max_tasks:
            raise ValueError(f"need 0 <= min_tasks ({self.min_tasks}) <= max_tasks ({self.max_tasks})")
        if self.max_step_out < 1 or self.idle_periods_to_scale_in < 1:
            raise ValueError("max_step_out and idle_periods_to_scale_in must be at least 1")


@dataclass(frozen=True)
class FleetLoad:
    backlog: int  # sessions waiting (not yet claimed)
    running: int  # sessions being run
    task_capacity: int  # concurrent sessions one task runs


@dataclass(frozen=True)
class ScalerState:
    """What the scaler remembers between runs (kept in Redis)."""

    idle_periods: int = 0
    last_out_at: float = 0.0
    last_in_at: float = 0.0


@dataclass(frozen=True)
class Decision:
    current: int
    needed: int  # what the load alone asks for, clamped to [min, max]
    desired: int  # what the scaler sets, after steps and cooldowns
    reason: str
    state: ScalerState
    utilisation: float

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def needed_tasks(load: FleetLoad, policy: ScalingPolicy) -> int:
    capacity = max(1, load.task_capacity)
    raw = math.ceil(max(0, load.backlog + load.running) / capacity)
    return max(policy.min_tasks, min(policy.max_tasks, raw))


def decide(current: int, load: FleetLoad, state: ScalerState, policy: ScalingPolicy, now: float) -> Decision:
    needed = needed_tasks(load, policy)
    work = max(0, load.backlog + load.running)
    utilisation = work / (max(1, current) * max(1, load.task_capacity))

    def result(desired: int, reason: str, new_state: ScalerState) -> Decision:
        return Decision(current, needed, desired, reason, new_state, round(utilisation, 3))

    if current < policy.min_tasks or current > policy.max_tasks:
        bounded = max(policy.min_tasks, min(policy.max_tasks, current))
        return result(bounded, "outside min/max", replace(state, idle_periods=0))
    if needed > current:
        if now - state.last_out_at < policy.out_cooldown_s:
            return result(current, "scale-out cooldown", replace(state, idle_periods=0))
        desired = min(needed, current + policy.max_step_out)
        return result(
            desired, "backlog", ScalerState(idle_periods=0, last_out_at=now, last_in_at=state.last_in_at)
        )
    # Never in while sessions wait unclaimed (tasks still starting, or a burst between two runs): a
    # period with a backlog is not idle, however low the utilisation.
    if needed < current and load.backlog == 0 and utilisation < policy.idle_utilisation:
        idle = state.idle_periods + 1
        if idle < policy.idle_periods_to_scale_in:
            return result(
                current, f"idle {idle}/{policy.idle_periods_to_scale_in}", replace(state, idle_periods=idle)
            )
        since_change = now - max(state.last_in_at, state.last_out_at)
        if since_change < policy.in_cooldown_s:
            return result(current, "scale-in cooldown", replace(state, idle_periods=idle))
        return result(
            current - 1, "idle", ScalerState(idle_periods=0, last_out_at=state.last_out_at, last_in_at=now)
        )
    return result(current, "steady", replace(state, idle_periods=0))
