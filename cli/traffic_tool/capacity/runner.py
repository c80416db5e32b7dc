"""One simulation from its inputs: the workload, the fleet, the figures and the prices, to a summary.
Shared by `traffic-tool simulate` and `traffic-tool capacity`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobcore.prices import PriceBook
from traffic_tool.capacity.fleet_cost import CostModel
from traffic_tool.capacity.fleet_sim import FleetSim
from traffic_tool.capacity.measured import Figure
from traffic_tool.capacity.report import RedisFigures, summarise
from traffic_tool.capacity.sim_records import FleetConfig, SimResult, assign_arrivals
from traffic_tool.capacity.workload import Durations, Profile, arrival_times, arrivals_from_csv


@dataclass(frozen=True)
class Workload:
    profile: Profile = field(default_factory=Profile)
    arrivals_csv: Path | None = None
    durations: Durations = field(default_factory=Durations)
    tenants: int = 1
    priority_mix: tuple[float, float, float] = (0.0, 1.0, 0.0)


def simulate(
    workload: Workload,
    fleet: FleetConfig,
    model: CostModel,
    prices: PriceBook,
    figures: dict[str, Figure],
    minutes: float,
    seed: int,
    warmup_min: float = 0.0,
) -> tuple[SimResult, dict[str, Any]]:
    horizon = minutes * 60.0
    rng = random.Random(seed)
    if workload.arrivals_csv is not None:
        times = arrivals_from_csv(workload.arrivals_csv, horizon)
    else:
        times = arrival_times(workload.profile, horizon, rng)
    arrivals = assign_arrivals(times, rng, workload.tenants, workload.priority_mix)
    sample_s = max(10.0, horizon / 720)  # at most 720 points on the plot
    result = FleetSim(fleet, arrivals, workload.durations, seed + 1, horizon, sample_s=sample_s).run()
    summary = summarise(
        result,
        prices,
        model,
        RedisFigures.from_figures(figures),
        workload.durations.mean,
        seed,
        warmup_min * 60,
    )
    return result, summary
