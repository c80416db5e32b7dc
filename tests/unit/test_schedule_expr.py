"""Schedule expressions as EventBridge Scheduler reads them, and the fire times the local stack uses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobcore.schedule_expr import ScheduleExpressionError, parse

NOW = datetime(2026, 11, 30, 17, 7, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "interval"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rates(expression: str, interval: int) -> None:
    assert parse(expression, NOW).interval_s == interval


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0/15 * * * ? *)", NOW, datetime(2026, 11, 30, 17, 15, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", NOW, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("cron(30 6 1 * ? *)", NOW, datetime(2026, 12, 1, 6, 30, tzinfo=UTC)),
        ("cron(0 0 ? * 1 *)", NOW, datetime(2026, 12, 6, 0, 0, tzinfo=UTC)),  # 1 = Sunday
        ("cron(5,35 14 * JAN,DEC ? 2027)", NOW, datetime(2027, 1, 1, 14, 5, tzinfo=UTC)),
    ],
)
def test_cron_fire_times(expression: str, after: datetime, expected: datetime) -> None:
    assert parse(expression, NOW).next_after(after) == expected


def test_every_minute_is_the_shortest_allowed() -> None:
    assert parse("cron(* * * * ? *)", NOW).shortest_gap_s(NOW) == 60


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(30 seconds)", "unit must be minute(s), hour(s) or day(s)"),
        ("rate(2 minute)", "plural"),
        ("rate(5minutes)", "must look like rate"),
        ("cron(0 12 * * ? * *)", "has 7 fields"),
        ("cron(0 12 ? * ? *)", "exactly one of"),
        ("cron(0 25 * * ? *)", "25 is outside hours's range 0-23"),
        ("cron(0 12 L * ? *)", "not supported"),
        ("cron(0 12 * FOO ? *)", "'FOO' is not a valid value for month"),
        ("cron(0 0 30 2 ? *)", "never fires"),
        ("cron(0 12 * * ? 2020)", "never fires"),
        ("cron(0/0 * * * ? *)", "step"),
    ],
)
def test_refusals_say_why(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleExpressionError) as caught:
        parse(expression, NOW)
    assert reason in str(caught.value)
