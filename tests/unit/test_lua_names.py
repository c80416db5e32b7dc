"""The Lua scripts and jobcore.keys agree on every Redis name, because the scripts spell none of their own:
they use the tables of names jobcore.lua_scripts renders from the Python (keys, fields, statuses, reply
names). These tests fail when a script spells a name, or uses one the Python no longer defines."""

from __future__ import annotations

import re
from pathlib import Path

import jobcore
from jobcore.lua_scripts import name_tables

LUA_DIR = Path(jobcore.__file__).parent / "lua"
SCRIPTS = sorted(LUA_DIR.glob("*.lua"))

# A comment, or a string literal in either quote.
_TOKEN = re.compile(r"--[^\n]*|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"")
_REDIS_WORD = re.compile(r"[A-Z]+")  # a command or an option: HSET, MKSTREAM, COUNT
# The literals a script may spell besides Redis's own words: none is a name this project gives.
NOT_OUR_NAMES = {
    "", "*", ">", "+", "-inf", "(", "0",  # new-entry and range ids, a group's start
    "name", "last-delivered-id",  # XINFO GROUPS's reply
    "url",  # the SessionSpec field a script reads from the spec's JSON
    "table",  # Lua's type()
    "[]",  # an empty JSON list
    "^(%d+)",  # the milliseconds of an entry id
}  # fmt: skip


def literals(source: str) -> list[str]:
    return [t[1:-1] for t in _TOKEN.findall(source) if not t.startswith("--")]


def test_the_scripts_spell_no_redis_name() -> None:
    assert SCRIPTS, LUA_DIR
    spelled = {
        path.name: found
        for path in SCRIPTS
        if (
            found := [
                text
                for text in literals(path.read_text())
                if not (_REDIS_WORD.fullmatch(text) or text in NOT_OUR_NAMES)
            ]
        )
    }
    assert spelled == {}, "spell these through the preamble's tables (jobcore.lua_scripts)"


def test_every_name_a_script_uses_is_one_the_python_defines() -> None:
    tables = name_tables()
    used = re.compile(r"\b(" + "|".join(tables) + r")\.([A-Za-z_]+)")
    unknown = sorted(
        f"{path.name}: {table}.{name}"
        for path in SCRIPTS
        for table, name in used.findall(_TOKEN.sub("", path.read_text()))
        if name not in tables[table]
    )
    assert unknown == []


def test_the_literal_finder_sees_literals_and_skips_comments() -> None:
    # the two tests above rest on it: a finder that saw nothing would pass them all
    source = "-- the worker's 'q:' in a comment\nlocal k = 'tt:{tt}:' .. \"stats\" -- and 'x'\n"
    assert literals(source) == ["tt:{tt}:", "stats"]
