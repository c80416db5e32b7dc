"""`traffic-tool simulate`: the fleet under a load profile, on paper, with the scaler's own policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from jobcore.prices import load_prices
from traffic_tool.capacity.fleet_cost import CostModel
from traffic_tool.capacity.measured import load_figures
from traffic_tool.capacity.plot import plot_run
from traffic_tool.capacity.runner import Workload, simulate
from traffic_tool.capacity.scenarios import template_defaults
from traffic_tool.capacity.sim_records import FleetConfig
from traffic_tool.capacity.workload import PROFILES, Durations, Profile, WorkloadError

out = Console()
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _mix(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(":"))
    except ValueError:
        raise _fail(f"--priority-mix must be high:normal:low fractions, not {text!r}") from None
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise _fail(f"--priority-mix must be three non-negative fractions high:normal:low, not {text!r}")
    return parts[0], parts[1], parts[2]


def simulate_cmd(
    arrivals_per_min: Annotated[float, typer.Option(help="mean sessions arriving per minute")] = 70.0,
    profile: Annotated[
        str, typer.Option(help=f"{'|'.join(PROFILES)}, or a CSV of arrival times (s)")
    ] = "constant",
    duration_s: Annotated[float, typer.Option(help="mean session duration, seconds")] = 5.0,
    duration_dist: Annotated[
        str, typer.Option(help="exponential|lognormal|fixed, or a CSV of durations (s)")
    ] = "exponential",
    sessions_per_task: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="concurrent sessions per task [default: the template's]"),
    ] = None,
    fixed_tasks: Annotated[
        int | None, typer.Option(min=1, help="a fixed fleet of C tasks, no scaling")
    ] = None,
    min_tasks: Annotated[
        int | None,
        typer.Option(min=0, help="the scaler's minimum, the on-demand baseline [default: the template's]"),
    ] = None,
    max_tasks: Annotated[
        int | None, typer.Option(min=1, help="the scaler's maximum [default: the template's]")
    ] = None,
    minutes: Annotated[float, typer.Option(min=1, max=7 * 24 * 60, help="simulated time")] = 60.0,
    seed: Annotated[int, typer.Option(help="the same seed gives the same run")] = 1,
    warmup_min: Annotated[
        float, typer.Option(min=0, help="waits count only sessions arriving after this")
    ] = 0.0,
    spike_factor: Annotated[float, typer.Option(help="spike: rate multiplier")] = 3.0,
    spike_at_min: Annotated[float, typer.Option(help="spike: starts at this minute")] = 20.0,
    spike_minutes: Annotated[float, typer.Option(help="spike: lasts this long")] = 10.0,
    capacity_mode: Annotated[str, typer.Option(help="fargate|ec2 (start-up delay and prices)")] = "fargate",
    startup_s: Annotated[
        float | None, typer.Option(help="task start-up delay (default: the mode's figure)")
    ] = None,
    spot_share: Annotated[
        float | None,
        typer.Option(
            min=0, max=1, help="share of tasks above the baseline on Spot [default: the template's]"
        ),
    ] = None,
    spot_rate: Annotated[
        float | None, typer.Option(min=0, help="Spot interruptions per Spot task-hour")
    ] = None,
    cpu_s: Annotated[
        float | None, typer.Option(min=0, help="CPU-seconds per session (0: no CPU contention)")
    ] = None,
    task_vcpu: Annotated[float, typer.Option(help="vCPUs per task (WorkerCpu / 1024)")] = 2.0,
    task_memory_gb: Annotated[float, typer.Option(help="GB per task (WorkerMemory / 1024)")] = 4.0,
    tenants: Annotated[int, typer.Option(min=1, max=1000, help="tenants sharing the load evenly")] = 1,
    priority_mix: Annotated[str, typer.Option(help="fractions high:normal:low")] = "0:1:0",
    sessions_per_job: Annotated[float, typer.Option(min=1, help="sessions per POST /jobs (API cost)")] = 1.0,
    max_backlog: Annotated[
        int, typer.Option(min=1, help="queued sessions before 429 (MaxBacklog)")
    ] = 100_000,
    tenant_quota: Annotated[int, typer.Option(min=1, help="queued sessions per tenant before 429")] = 20_000,
    baseline_pricing: Annotated[
        str, typer.Option(help="discounted (Savings Plan / reserved) | on-demand")
    ] = "discounted",
    figures: Annotated[Path | None, typer.Option(help="measured figures JSON")] = None,
    prices: Annotated[Path | None, typer.Option(help="price file (default: jobcore/prices.json)")] = None,
    plot: Annotated[Path | None, typer.Option(help="write the PNG plot here")] = None,
    summary: Annotated[Path | None, typer.Option(help="write the JSON summary here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Simulate the fleet: queue wait, latency, tasks, refusals, cost per session, Redis load."""
    if capacity_mode not in ("fargate", "ec2"):
        raise _fail(f"--capacity-mode must be fargate or ec2, not {capacity_mode!r}")
    if baseline_pricing not in ("discounted", "on-demand"):
        raise _fail(f"--baseline-pricing must be discounted or on-demand, not {baseline_pricing!r}")
    stack = template_defaults()  # the stack's defaults are template.yaml's, never restated
    sessions_per_task = stack.sessions_per_task if sessions_per_task is None else sessions_per_task
    min_tasks = stack.baseline if min_tasks is None else min_tasks
    max_tasks = stack.max_tasks if max_tasks is None else max_tasks
    spot_share = stack.spot_share if spot_share is None else spot_share
    if fixed_tasks is None and min_tasks > max_tasks:
        raise _fail(f"--min-tasks ({min_tasks}) must not exceed --max-tasks ({max_tasks})")
    try:
        measured = load_figures(figures)
        price_book = load_prices(prices)
        workload = _workload(
            profile,
            arrivals_per_min,
            duration_s,
            duration_dist,
            spike_factor,
            spike_at_min,
            spike_minutes,
            minutes,
            tenants,
            _mix(priority_mix),
        )
    except (WorkloadError, ValueError, KeyError) as exc:
        raise _fail(str(exc)) from None
    fleet = FleetConfig(
        sessions_per_task=sessions_per_task,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        fixed_tasks=fixed_tasks,
        spot_share=spot_share,
        task_vcpu=task_vcpu,
        task_memory_gb=task_memory_gb,
        startup_s=startup_s if startup_s is not None else measured[f"{capacity_mode}_startup_s"].value,
        spot_interruptions_per_task_hour=(
            spot_rate if spot_rate is not None else measured["spot_interruptions_per_task_hour"].value
        ),
        cpu_s_per_session=cpu_s if cpu_s is not None else measured["cpu_s_per_session"].value,
        max_backlog=max_backlog,
        tenant_quota=tenant_quota,
    )
    model = CostModel(
        capacity_mode=capacity_mode,
        baseline_pricing=baseline_pricing,
        sessions_per_job=sessions_per_job,
        kb_per_session=measured["kb_per_session"].value,
    )
    result, report = simulate(workload, fleet, model, price_book, measured, minutes, seed, warmup_min)
    if plot is not None:
        plot_run(result, plot, _title(profile, arrivals_per_min, duration_s, fleet))
    if summary is not None:
        summary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if as_json:
        print(json.dumps(report))
    else:
        _print(report)


def _workload(
    profile: str,
    per_min: float,
    duration_s: float,
    dist: str,
    factor: float,
    at_min: float,
    spike_min: float,
    minutes: float,
    tenants: int,
    mix: tuple[float, float, float],
) -> Workload:
    csv_arrivals = Path(profile) if profile not in PROFILES else None
    durations = Durations.from_csv(Path(dist)) if dist.endswith(".csv") else Durations(duration_s, dist)
    shape = Profile(
        kind=profile if csv_arrivals is None else "constant",
        per_min=per_min,
        factor=factor,
        spike_at_s=at_min * 60,
        spike_s=spike_min * 60,
        period_s=max(60.0, minutes * 60),
    )
    return Workload(shape, csv_arrivals, durations, tenants, mix)


def _title(profile: str, per_min: float, duration_s: float, fleet: FleetConfig) -> str:
    tasks = (
        f"{fleet.fixed_tasks} tasks" if fleet.fixed_tasks else f"{fleet.min_tasks}-{fleet.max_tasks} tasks"
    )
    return f"{profile}, {per_min:g}/min, {duration_s:g} s sessions, {tasks} × {fleet.sessions_per_task}"


def _print(report: dict[str, Any]) -> None:
    w, lat, s, t = report["queue_wait_s"], report["latency_s"], report["sessions"], report["tasks"]
    out.print(
        f"sessions: {s['arrived']} arrived, {s['served']} served, {s['refused']} refused (429), "
        f"{s['handed_back']} handed back by Spot interruptions ({report['spot_interruptions']})"
    )
    out.print(f"queue wait s: mean {w['mean']}  p50 {w['p50']}  p95 {w['p95']}  p99 {w['p99']}")
    out.print(f"latency s:    mean {lat['mean']}  p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}")
    out.print(f"tasks: peak {t['peak']}, mean {t['mean']}; utilisation {report['utilisation']:.0%}")
    cost = report["cost_usd"]
    parts = ", ".join(f"{k} {v:.4f}" for k, v in cost.items() if k != "total")
    out.print(f"cost: ${cost['total']:.4f} in all ({parts}); ${report['cost_per_session_usd']} per session")
    r = report["redis"]
    out.print(
        f"redis: {r['ops_per_s_mean']} ops/s mean, {r['ops_per_s_peak']} peak, against a ceiling of "
        f"{r['ceiling_ops_per_s']} ({r['busy_fraction_peak']:.2%} busy at peak; one primary saturates near "
        f"{r['saturates_at_sessions_per_s']} sessions/s ≈ {r['saturates_at_tasks']} tasks)"
    )
