"""`traffic-tool capacity` (`make capacity`): the seed's scenarios against the stack's defaults, and the
cheapest fleet shape that meets p95 queue wait ≤ 5 s and ≤ $0.02 per session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jobcore.prices import load_prices
from traffic_tool.capacity.fleet_cost import CostModel
from traffic_tool.capacity.measured import load_figures
from traffic_tool.capacity.plot import plot_run
from traffic_tool.capacity.runner import Workload, simulate
from traffic_tool.capacity.scenarios import (
    COST_TARGET_USD,
    P95_WAIT_TARGET_S,
    SCENARIOS,
    SEED,
    SESSION_S,
    Shape,
    answer,
    meets,
    template_defaults,
)
from traffic_tool.capacity.sim_records import FleetConfig
from traffic_tool.capacity.workload import Durations


def _cell(report: dict[str, Any]) -> str:
    ok = "meets" if meets(report) else "MISSES"
    wait, usd, tasks = report["queue_wait_s"]["p95"], report["cost_per_session_usd"], report["tasks"]
    return f"{ok}: p95 wait {wait:.2f} s, ${usd:.6f}/session, tasks peak {tasks['peak']} mean {tasks['mean']}"


def capacity(
    figures: Annotated[Path | None, typer.Option(help="measured figures JSON")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="write the spike scenario's plot (recommended shape)")
    ] = None,
    summary: Annotated[Path | None, typer.Option(help="write every figure as JSON here")] = None,
) -> None:
    """Answer the seed plan's capacity question with the simulator (a few minutes)."""
    measured = load_figures(figures)
    prices = load_prices()
    base = FleetConfig(
        startup_s=measured["fargate_startup_s"].value,
        spot_interruptions_per_task_hour=measured["spot_interruptions_per_task_hour"].value,
        cpu_s_per_session=measured["cpu_s_per_session"].value,
    )
    model = CostModel(kb_per_session=measured["kb_per_session"].value)
    verdicts, overall = answer(
        base, model, prices, measured, progress=lambda name: print(f"… {name}", file=sys.stderr)
    )
    print(
        f"Targets: p95 queue wait <= {P95_WAIT_TARGET_S:g} s, cost <= ${COST_TARGET_USD} per session; "
        f"{SESSION_S:g} s lognormal sessions, seed {SEED}, Fargate, prices of jobcore/prices.json."
    )
    print(f"Stack defaults (template.yaml): {template_defaults().label()}.\n")
    print("| scenario | stack defaults | cheapest shape that meets both | its figures |")
    print("|---|---|---|---|")
    for v in verdicts:
        cheapest = v.cheapest.label() if v.cheapest else "none in the grid"
        figures_text = _cell(v.cheapest_report) if v.cheapest_report else "-"
        print(f"| {v.scenario.name} | {_cell(v.defaults)} | {cheapest} | {figures_text} |")
    print()
    print(f"One shape for all four (least summed cost per session): {overall.label() if overall else 'none'}")
    if plot is not None:
        shape = overall or template_defaults()
        _plot_spike(shape, base, model, prices, measured, plot)
        print(f"plot: {plot}")
    if summary is not None:
        out = {
            "defaults": template_defaults().__dict__,
            "recommended": overall.__dict__ if overall else None,
            "scenarios": [
                {
                    "name": v.scenario.name,
                    "defaults": v.defaults,
                    "cheapest": v.cheapest.__dict__ if v.cheapest else None,
                    "cheapest_report": v.cheapest_report,
                }
                for v in verdicts
            ],
        }
        summary.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


def _plot_spike(
    shape: Shape, base: FleetConfig, model: CostModel, prices: Any, measured: Any, path: Path
) -> None:
    spike = next(s for s in SCENARIOS if s.name.startswith("spike"))
    fleet = FleetConfig(
        **{
            **base.__dict__,
            "min_tasks": shape.baseline,
            "max_tasks": shape.max_tasks,
            "spot_share": shape.spot_share,
            "sessions_per_task": shape.sessions_per_task,
        }
    )
    workload = Workload(profile=spike.profile, durations=Durations(SESSION_S, "lognormal"))
    result, _ = simulate(workload, fleet, model, prices, measured, spike.minutes, SEED)
    plot_run(result, path, f"spike 70 -> 210/min for 10 min; {shape.label()}")
