"""The capacity simulator: queueing theory where it has an answer, the scaler's own policy under a spike,
and Spot interruptions that lose nothing. Each run is seeded and takes about a second."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobcore.scaling import FleetLoad, ScalerState, ScalingPolicy, decide
from traffic_tool.capacity.fleet_sim import FleetSim
from traffic_tool.capacity.sim_records import FleetConfig, assign_arrivals
from traffic_tool.capacity.workload import Durations, Profile, arrival_times
from traffic_tool.main import app


def erlang_c_mean_wait(arrivals_per_s: float, mean_service_s: float, servers: int) -> float:
    offered = arrivals_per_s * mean_service_s
    top = offered**servers / math.factorial(servers) / (1 - offered / servers)
    waits = top / (sum(offered**k / math.factorial(k) for k in range(servers)) + top)
    return waits / (servers / mean_service_s - arrivals_per_s)


def run(config: FleetConfig, profile: Profile, durations: Durations, hours: float, seed: int) -> FleetSim:
    rng = random.Random(seed)
    arrivals = assign_arrivals(arrival_times(profile, hours * 3600, rng), rng)
    sim = FleetSim(config, arrivals, durations, seed, hours * 3600)
    sim.run()
    return sim


def test_mmc_mean_queue_wait_matches_erlang_c_within_5_percent() -> None:
    # Given Poisson arrivals, exponential 5 s sessions and a fixed fleet of c = 1 task x 4 sessions, 60% busy
    per_s, mean_s, servers = 0.6 * 4 / 5.0, 5.0, 4
    config = FleetConfig(sessions_per_task=4, fixed_tasks=1)
    # When 80 simulated hours run (about 140,000 sessions)
    sim = run(config, Profile("constant", per_s * 60), Durations(mean_s, "exponential"), hours=80, seed=0)
    # Then the mean queue wait is Erlang C's
    waits = [s.started - s.arrived for s in sim.sessions]
    expected = erlang_c_mean_wait(per_s, mean_s, servers)
    assert len(waits) > 100_000
    assert statistics.fmean(waits) == pytest.approx(expected, rel=0.05)


def test_under_a_spike_the_policy_never_exceeds_max_nor_scales_in_while_sessions_wait() -> None:
    # Given the template's policy with max 6 tasks and a spike to 10x for 10 minutes
    config = FleetConfig(sessions_per_task=4, min_tasks=2, max_tasks=6, startup_s=60.0)
    spike = Profile("spike", 20.0, factor=10.0, spike_at_s=600, spike_s=600)
    # When two hours run
    sim = run(config, spike, Durations(5.0, "lognormal"), hours=2, seed=3)
    # Then the fleet grew to its max and no more, and shrank only with nothing waiting
    assert sim.peak_tasks == 6
    assert all(d.desired <= 6 for d in sim.decisions)
    assert any(d.backlog > 0 and d.desired > d.current for d in sim.decisions)
    assert any(d.desired < d.current for d in sim.decisions)
    assert all(d.desired >= d.current for d in sim.decisions if d.backlog > 0)
    assert all(s.finished >= 0 for s in sim.sessions)


def test_the_policy_never_scales_in_while_a_backlog_waits() -> None:
    # Given every load with sessions waiting, on a fleet that has been idle long past the cooldowns
    policy = ScalingPolicy()
    idle = ScalerState(idle_periods=policy.idle_periods_to_scale_in, last_out_at=0.0, last_in_at=0.0)
    for current in range(policy.min_tasks, policy.max_tasks + 1):
        for backlog in (1, 2, 5):
            for running in (0, 1):
                # When the scaler runs
                decision = decide(current, FleetLoad(backlog, running, 4), idle, policy, now=10_000.0)
                # Then it does not remove a task
                assert decision.desired >= current, (current, backlog, running, decision.reason)


def test_a_spot_interruption_loses_no_session() -> None:
    # Given a fleet that is mostly Spot, interrupted often, running sessions longer than the stop timeout
    config = FleetConfig(
        sessions_per_task=4,
        min_tasks=1,
        max_tasks=8,
        spot_share=1.0,
        spot_interruptions_per_task_hour=6.0,
        startup_s=30.0,
    )
    # When two hours run
    sim = run(config, Profile("constant", 6.0), Durations(150.0, "fixed"), hours=2, seed=5)
    # Then sessions were handed back, and every session that arrived ran to its end once
    assert sim.interruptions > 0
    assert sim.handed_back > 0
    assert sim.refused == 0
    assert all(s.finished >= 0 for s in sim.sessions)
    assert all(math.isclose(s.run_s, 150.0) for s in sim.sessions)


def test_simulate_prints_one_json_object_with_the_contracted_keys_and_is_reproducible() -> None:
    args = [
        "simulate",
        "--arrivals-per-min",
        "60",
        "--duration-s",
        "5",
        "--duration-dist",
        "exponential",
        "--sessions-per-task",
        "4",
        "--min-tasks",
        "2",
        "--max-tasks",
        "6",
        "--minutes",
        "20",
        "--seed",
        "9",
        "--json",
    ]
    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert set(report["queue_wait_s"]) >= {"mean", "p50", "p95", "p99"}
    assert set(report["latency_s"]) >= {"mean", "p95"}
    assert set(report["tasks"]) >= {"peak", "mean"}
    assert set(report["sessions"]) >= {"arrived", "served", "refused"}
    assert 0 < report["cost_per_session_usd"] < 0.02
    assert first.output == second.output


def test_simulate_with_a_fixed_fleet_and_a_durations_csv_writes_its_plot_and_summary(tmp_path: Path) -> None:
    csv = tmp_path / "durations.csv"
    csv.write_text("duration_s\n1.0\n2.0\n3.0\n")
    plot, summary = tmp_path / "run.png", tmp_path / "run.json"
    args = ["simulate", "--arrivals-per-min", "30", "--duration-dist", str(csv), "--fixed-tasks", "2",
            "--minutes", "10", "--plot", str(plot), "--summary", str(summary), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tasks"]["peak"] == 2
    assert 1.0 <= report["latency_s"]["mean"] <= 3.5
    assert json.loads(summary.read_text()) == report
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_refused_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["simulate", "--duration-dist", "gaussian", "--minutes", "5"])
    assert result.exit_code == 2
    assert "--duration-dist" in result.output
