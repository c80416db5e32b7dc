"""What arrives and how long it runs: arrival profiles and session-duration distributions, seeded.

Arrivals are a Poisson process whose rate follows the profile (thinning), or the times in a CSV.
Durations are exponential, lognormal, fixed, or resampled from a CSV of real results.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("constant", "ramp", "spike", "diurnal")
DISTRIBUTIONS = ("exponential", "lognormal", "fixed")
LOGNORMAL_SIGMA = 0.6  # spread of page-load times seen in synthetic monitoring: p95 ≈ 2.3 x median


class WorkloadError(ValueError):
    """A profile, distribution or CSV the simulator cannot use (the message names which)."""


@dataclass(frozen=True)
class Profile:
    """Arrival rate over time, sessions per minute. `spike`: `factor` x the rate from `spike_at_s` for
    `spike_s`; `ramp`: from 0 to 2 x the rate, so the mean is the rate; `diurnal`: one sine a day
    (or a run), trough `1 - amplitude`, peak `1 + amplitude`, mean the rate."""

    kind: str = "constant"
    per_min: float = 70.0
    factor: float = 3.0
    spike_at_s: float = 1200.0
    spike_s: float = 600.0
    amplitude: float = 0.8
    period_s: float = 86_400.0

    def rate_per_s(self, t: float, horizon_s: float) -> float:
        base = self.per_min / 60.0
        if self.kind == "constant":
            return base
        if self.kind == "ramp":
            return 2 * base * min(1.0, t / max(1.0, horizon_s))
        if self.kind == "spike":
            return base * (self.factor if self.spike_at_s <= t < self.spike_at_s + self.spike_s else 1.0)
        if self.kind == "diurnal":  # trough at midnight, peak at noon
            return base * (1 - self.amplitude * math.cos(2 * math.pi * t / self.period_s))
        raise WorkloadError(
            f"--profile must be one of {', '.join(PROFILES)} or a CSV file, not {self.kind!r}"
        )

    def peak_per_s(self) -> float:
        base = self.per_min / 60.0
        return base * {"constant": 1.0, "ramp": 2.0, "spike": max(1.0, self.factor)}.get(
            self.kind, 1 + self.amplitude
        )


def arrival_times(profile: Profile, horizon_s: float, rng: random.Random) -> list[float]:
    """A non-homogeneous Poisson process by thinning (Lewis and Shedler)."""
    peak = profile.peak_per_s()
    if peak <= 0:
        return []
    times: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= horizon_s:
            return times
        if rng.random() * peak <= profile.rate_per_s(t, horizon_s):
            times.append(t)


def read_column(path: Path, what: str) -> list[float]:
    """The first numeric column of a CSV (a header line is skipped)."""
    try:
        with path.open(newline="") as handle:
            values = []
            for row in csv.reader(handle):
                if not row or not row[0].strip():
                    continue
                try:
                    values.append(float(row[0]))
                except ValueError:
                    if values:
                        raise WorkloadError(f"{path}: {row[0]!r} is not a number ({what})") from None
    except OSError as exc:
        raise WorkloadError(f"cannot read {path}: {exc.strerror}") from None
    if not values or any(v < 0 or math.isnan(v) for v in values):
        raise WorkloadError(f"{path}: needs one or more non-negative numbers ({what})")
    return values


def arrivals_from_csv(path: Path, horizon_s: float) -> list[float]:
    """Arrival times in seconds from the start (sorted; those past the horizon dropped)."""
    return sorted(t for t in read_column(path, "arrival times in seconds") if t < horizon_s)


@dataclass(frozen=True)
class Durations:
    """Session durations in seconds: `mean_s` with a distribution, or resampled from `samples`."""

    mean_s: float = 5.0
    dist: str = "exponential"
    samples: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.samples and self.dist not in DISTRIBUTIONS:
            raise WorkloadError(f"--duration-dist must be one of {', '.join(DISTRIBUTIONS)} or a CSV file")
        if self.mean_s <= 0 and not self.samples:
            raise WorkloadError("--duration-s must be above 0")

    @classmethod
    def from_csv(cls, path: Path) -> Durations:
        samples = tuple(read_column(path, "session durations in seconds"))
        return cls(mean_s=sum(samples) / len(samples), dist=str(path), samples=samples)

    @property
    def mean(self) -> float:
        return self.mean_s

    def draw(self, rng: random.Random) -> float:
        if self.samples:
            return rng.choice(self.samples)
        if self.dist == "fixed":
            return self.mean_s
        if self.dist == "exponential":
            return rng.expovariate(1.0 / self.mean_s)
        # lognormal with the given mean: mu = ln(mean) - sigma²/2
        mu = math.log(self.mean_s) - LOGNORMAL_SIGMA**2 / 2
        return rng.lognormvariate(mu, LOGNORMAL_SIGMA)
