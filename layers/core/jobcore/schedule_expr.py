"""EventBridge Scheduler's recurring expressions, checked the way Scheduler checks them, and their fire times.

`rate(5 minutes)` and `cron(minutes hours day-of-month month day-of-week year)` (UTC). A check's
schedule is validated here before anything is written, with the reason in words, so EventBridge
never refuses a schedule the API accepted; the local stack computes fire times with the same code.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobcore import limits

_RATE = re.compile(r"^rate\((\d+) ([a-z]+)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_SEARCH_DAYS = 5 * 366  # a cron that does not fire within five years is refused as never firing


class ScheduleExpressionError(ValueError):
    """The expression is not one EventBridge Scheduler would accept for a check; the message says why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS),
    _Field("year", 1970, 2199),
)


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: a fixed interval (rate) or the allowed values of each cron field."""

    expression: str
    interval_s: int | None = None
    cron: tuple[frozenset[int] | None, ...] = ()  # None: `?` (the field does not constrain)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (rates count from `moment`); None if none."""
        if self.interval_s is not None:
            return moment + timedelta(seconds=self.interval_s)
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        minutes, hours, dom, months, dow, years = self.cron
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if _day_matches(day, dom, months, dow, years):
                for hour in sorted(hours or ()):
                    for minute in sorted(minutes or ()):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None

    def shortest_gap_s(self, now: datetime, samples: int = 50) -> float | None:
        """The shortest time between the next `samples` fires (None when it fires fewer than twice)."""
        if self.interval_s is not None:
            return float(self.interval_s)
        fires: list[datetime] = []
        moment: datetime | None = now
        while moment is not None and len(fires) < samples:
            moment = self.next_after(moment)
            if moment is not None:
                fires.append(moment)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fires)]
        return min(gaps) if gaps else None


def _day_matches(
    day: datetime,
    dom: frozenset[int] | None,
    months: frozenset[int] | None,
    dow: frozenset[int] | None,
    years: frozenset[int] | None,
) -> bool:
    if months is not None and day.month not in months:
        return False
    if years is not None and day.year not in years:
        return False
    if dom is not None and day.day not in dom:
        return False
    weekday = (day.isoweekday() % 7) + 1  # Scheduler counts SUN=1 … SAT=7
    return dow is None or weekday in dow


def parse(expression: str, now: datetime | None = None) -> Schedule:
    """The parsed schedule, or ScheduleExpressionError naming what is wrong."""
    text = expression.strip()
    if text.startswith("at("):
        raise ScheduleExpressionError("at() runs once; a check recurs: use rate(…) or cron(…)")
    if text.startswith("rate("):
        schedule = _parse_rate(text)
    elif text.startswith("cron("):
        schedule = _parse_cron(text)
    else:
        raise ScheduleExpressionError(
            f"{expression[:60]!r} is not a schedule: write rate(5 minutes) or cron(0/10 * * * ? *)"
        )
    gap = schedule.shortest_gap_s(now or datetime.now(UTC))
    if gap is None and schedule.interval_s is None and schedule.next_after(now or datetime.now(UTC)) is None:
        raise ScheduleExpressionError(f"{text} never fires within the next five years")
    if gap is not None and gap < limits.MIN_CHECK_INTERVAL_S:
        raise ScheduleExpressionError(
            f"{text} fires every {gap:g} s; checks run at most once every {limits.MIN_CHECK_INTERVAL_S} s"
        )
    return schedule


def _parse_rate(text: str) -> Schedule:
    m = _RATE.match(text)
    if m is None:
        raise ScheduleExpressionError(f"{text} must look like rate(<number> <unit>), e.g. rate(5 minutes)")
    value, unit = int(m.group(1)), m.group(2)
    if value < 1:
        raise ScheduleExpressionError(f"{text}: the rate must be a positive number")
    singular = unit.removesuffix("s")
    if singular not in _UNIT_S:
        raise ScheduleExpressionError(f"{text}: the unit must be minute(s), hour(s) or day(s), not {unit!r}")
    if value == 1 and unit != singular:
        raise ScheduleExpressionError(f"{text}: a rate of 1 takes a singular unit (rate(1 {singular}))")
    if value > 1 and unit == singular:
        raise ScheduleExpressionError(f"{text}: a rate above 1 takes a plural unit ({singular}s)")
    return Schedule(text, interval_s=value * _UNIT_S[singular])


def _parse_cron(text: str) -> Schedule:
    m = _CRON.match(text)
    assert m is not None
    parts = m.group(1).split()
    if len(parts) != 6:
        raise ScheduleExpressionError(
            f"{text} has {len(parts)} fields; cron() takes six: minutes hours day-of-month month "
            "day-of-week year"
        )
    dom_text, dow_text = parts[2], parts[4]
    if (dom_text == "?") == (dow_text == "?"):
        raise ScheduleExpressionError(f"{text}: exactly one of day-of-month and day-of-week must be '?'")
    values = tuple(_parse_field(part, field, text) for part, field in zip(parts, _FIELDS, strict=True))
    return Schedule(text, cron=values)


def _parse_field(part: str, field: _Field, text: str) -> frozenset[int] | None:
    if part == "?":
        if field.name not in ("day-of-month", "day-of-week"):
            raise ScheduleExpressionError(f"{text}: '?' is only allowed in day-of-month or day-of-week")
        return None
    if any(c in part for c in "LW#"):
        raise ScheduleExpressionError(f"{text}: L, W and # in {field.name} are not supported for checks")
    allowed: set[int] = set()
    for item in part.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, field, text, step=True) if step_text else 1
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            a, _, b = base.partition("-")
            low, high = _number(a, field, text), _number(b, field, text)
            if low > high:
                raise ScheduleExpressionError(f"{text}: the range {base} in {field.name} runs backwards")
        else:
            low = _number(base, field, text)
            high = field.high if step_text else low
        allowed.update(range(low, high + 1, step))
    return frozenset(allowed)


def _number(token: str, field: _Field, text: str, step: bool = False) -> int:
    named = (field.names or {}).get(token.upper())
    if named is not None and not step:
        return named
    if not token.isdigit():
        raise ScheduleExpressionError(f"{text}: {token!r} is not a valid value for {field.name}")
    value = int(token)
    if step:
        if value < 1:
            raise ScheduleExpressionError(f"{text}: the step in {field.name} must be at least 1")
        return value
    if not field.low <= value <= field.high:
        raise ScheduleExpressionError(
            f"{text}: {value} is outside {field.name}'s range {field.low}-{field.high}"
        )
    return value
