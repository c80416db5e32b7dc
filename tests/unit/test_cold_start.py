"""One cold-start helper for every function: parts are built once per process, and one reset forgets
them all (closing what they hold), so the next call reads the environment again."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobcore import cold_start
from jobcore.settings import env_name

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def test_a_part_is_built_once_and_reset_closes_it_and_builds_anew() -> None:
    built: list[object] = []
    closed: list[object] = []

    def build() -> object:
        built.append(object())
        return built[-1]

    part = cold_start.once(build, close=closed.append)
    assert part() is part() is built[0]
    cold_start.reset()
    assert closed == [built[0]]
    assert part() is built[1] and len(built) == 2
    cold_start.reset()
    cold_start.reset()  # nothing built since: nothing to close twice
    assert closed == built


def test_settings_are_read_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("max_attempts"), "7")
    cold_start.reset()
    assert cold_start.settings().max_attempts == 7
    monkeypatch.setenv(env_name("max_attempts"), "8")
    assert cold_start.settings().max_attempts == 7  # a warm start keeps what the cold start read
    cold_start.reset()
    assert cold_start.settings().max_attempts == 8
    monkeypatch.undo()
    cold_start.reset()


def test_no_function_caches_its_parts_its_own_way() -> None:
    own_ways = ("functools", "@cache", "cache_clear", "load_settings", "Settings()", "def reset(")
    found = [
        f"{path.relative_to(FUNCTIONS)}: {way}"
        for path in sorted(FUNCTIONS.rglob("*.py"))
        for way in own_ways
        if way in path.read_text()
    ]
    assert not found, "build cold-start parts with jobcore.cold_start.once: " + ", ".join(found)
