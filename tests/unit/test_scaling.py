"""The scaling policy as a pure function of numbers: minutes go by, load comes and goes."""

from __future__ import annotations

import itertools

import pytest

from jobcore.scaling import Decision, FleetLoad, ScalerState, ScalingPolicy, decide

SEED = ScalingPolicy()  # min 2, max 10, out +2 / 120 s cooldown, in -1 after 5 idle periods / 300 s
T0 = 1_700_000_000.0
MINUTE = 60.0


def load(work: int, running: int = 0, capacity: int = 4) -> FleetLoad:
    return FleetLoad(backlog=work - running, running=running, task_capacity=capacity)


class Fleet:
    """The scaler run once a minute: feeds each decision's count and state into the next."""

    def __init__(self, current: int, policy: ScalingPolicy = SEED) -> None:
        self.current = current
        self.policy = policy
        self.state = ScalerState()
        self.now = T0

    def minute(self, fleet_load: FleetLoad) -> Decision:
        decision = decide(self.current, fleet_load, self.state, self.policy, self.now)
        self.current, self.state = decision.desired, decision.state
        self.now += MINUTE
        return decision

    def minutes(self, count: int, fleet_load: FleetLoad) -> list[int]:
        return [self.minute(fleet_load).desired for _ in range(count)]


def test_an_empty_queue_asks_for_the_minimum() -> None:
    # Given a fleet above the minimum with no work for a long time
    fleet = Fleet(current=2)
    # When minutes pass with nothing queued or running
    desired = fleet.minutes(10, load(0))
    # Then it stays at the minimum, and never goes below it
    assert desired == [2] * 10


def test_a_count_outside_min_max_is_brought_back_at_once() -> None:
    # Given a service CloudFormation started at 1 task, and one someone set to 30 by hand
    # When the scaler runs
    low = decide(1, load(0), ScalerState(), SEED, T0)
    high = decide(30, load(500), ScalerState(), SEED, T0)
    # Then both are clamped to the policy's bounds, whatever the load or cooldowns say
    assert (low.desired, low.reason) == (2, "outside min/max")
    assert (high.desired, high.reason) == (10, "outside min/max")


def test_a_burst_scales_out_two_tasks_at_a_time_every_two_minutes_up_to_the_max() -> None:
    # Given the minimum fleet
    fleet = Fleet(current=2)
    # When 400 sessions arrive at once (100 tasks' worth)
    desired = fleet.minutes(12, load(400))
    # Then +2 now, hold during the 2-minute cooldown, +2 again, ... and never past the max
    assert desired == [4, 4, 6, 6, 8, 8, 10, 10, 10, 10, 10, 10]


def test_scale_out_stops_at_what_the_load_needs() -> None:
    # Given the minimum fleet and 5 tasks' worth of work
    fleet = Fleet(current=2)
    # When minutes pass
    desired = fleet.minutes(6, load(20))
    # Then it reaches 5 (the step is bounded by the need, not always +2) and holds there
    assert desired == [4, 4, 5, 5, 5, 5]


def test_a_sustained_load_holds_the_fleet_steady() -> None:
    # Given a fleet of 6 with exactly 6 tasks' worth of work
    fleet = Fleet(current=6)
    # When the load stays, and also when it dips but keeps the fleet more than 20% busy
    steady = fleet.minutes(10, load(24, running=24))
    dipped = fleet.minutes(10, load(6, running=6))  # 6 / (6 * 4) = 25% busy
    # Then nothing changes, and no idle periods accumulate
    assert steady == [6] * 10 and dipped == [6] * 10
    assert fleet.state.idle_periods == 0


def test_a_drain_scales_in_one_task_after_five_idle_periods_and_the_cooldown() -> None:
    # Given a fleet at the max that has just scaled out
    fleet = Fleet(current=8)
    assert fleet.minute(load(400)).desired == 10
    # When the work drains away
    desired = fleet.minutes(25, load(0))
    # Then one task goes after each five idle one-minute periods, never two at once
    assert desired == [10, 10, 10, 10, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5]
    assert all(a - b in (0, 1) for a, b in itertools.pairwise(desired))


def test_scale_in_waits_for_its_cooldown_even_after_enough_idle_periods() -> None:
    # Given a fleet that scaled out 2 minutes ago and a policy with a 10-minute scale-in cooldown
    policy = ScalingPolicy(min_tasks=1, max_tasks=10, in_cooldown_s=600, idle_periods_to_scale_in=2)
    state = ScalerState(idle_periods=1, last_out_at=T0 - 2 * MINUTE)
    # When the next idle period would reach the count
    held = decide(5, load(0), state, policy, T0)
    # Then it holds for the cooldown, still counting; once the cooldown is over it removes one
    assert (held.desired, held.reason, held.state.idle_periods) == (5, "scale-in cooldown", 2)
    later = decide(5, load(0), held.state, policy, T0 + 8 * MINUTE)
    assert (later.desired, later.reason, later.state.idle_periods) == (4, "idle", 0)


def test_work_arriving_during_a_drain_resets_the_idle_count() -> None:
    # Given a fleet of 6 that has been idle for 4 periods
    fleet = Fleet(current=6)
    fleet.minutes(4, load(0))
    assert fleet.state.idle_periods == 4
    # When a minute of real work comes in before the fifth
    fleet.minute(load(20, running=20))
    # Then the count starts over: five more idle periods before anything is removed
    assert fleet.minutes(5, load(0)) == [6, 6, 6, 6, 5]


def test_a_burst_during_the_out_cooldown_waits_and_reports_why() -> None:
    # Given a fleet that scaled out a minute ago
    state = ScalerState(last_out_at=T0 - MINUTE)
    # When more work arrives
    decision = decide(4, load(100), state, SEED, T0)
    # Then it holds until the 2-minute cooldown has passed
    assert (decision.desired, decision.reason) == (4, "scale-out cooldown")
    assert decide(4, load(100), state, SEED, T0 + MINUTE).desired == 6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_tasks": 5, "max_tasks": 4},
        {"min_tasks": -1},
        {"max_step_out": 0},
        {"idle_periods_to_scale_in": 0},
    ],
)
def test_a_bad_policy_is_refused(kwargs: dict[str, int]) -> None:
    # Given / When a policy that could not be honoured / Then it fails when made, not when used
    with pytest.raises(ValueError, match=r"must be|need"):
        ScalingPolicy(**kwargs)
