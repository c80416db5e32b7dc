"""The Lua preamble, run by a real Redis, names each key and field exactly as jobcore.keys does."""

from __future__ import annotations

import pytest
import redis

from jobcore import keys
from jobcore.lua_scripts import KEY_NAMES, SESSION_FIELDS, load_script, preamble
from tests.unit.test_lua_names import SCRIPTS


def run(r: redis.Redis, body: str) -> list[str]:
    reply: list[str] = r.eval(preamble() + body, 0)  # type: ignore[assignment]
    return reply


def test_every_script_compiles(r: redis.Redis) -> None:
    for path in SCRIPTS:
        assert r.script_load(load_script(path.stem)), path.name


def test_the_preamble_builds_the_names_keys_py_builds(r: redis.Redis) -> None:
    constants = run(r, "return {" + ", ".join(f"KEY.{name}" for name in KEY_NAMES) + "}")
    assert constants == list(KEY_NAMES.values())
    built = run(
        r,
        "return {KEY.job('j1'), KEY.results('j1'), KEY.specs('j1'), KEY.secrets('j1'),"
        " KEY.stream('low', 'tenant-a'), KEY.rota('high'), KEY.tenant_jobs('tenant-a'),"
        " STAT.backlog, STAT.running, STAT.backlog_at('normal'), GROUP, FIELD.tenant, STATUS.cancelled}",
    )
    assert built == [
        keys.job("j1"), keys.results("j1"), keys.specs("j1"), keys.secrets("j1"),
        keys.stream("low", "tenant-a"), keys.rota("high"), keys.tenant_jobs("tenant-a"),
        keys.STATS_BACKLOG, keys.STATS_RUNNING, keys.stats_backlog("normal"), keys.GROUP,
        keys.EntryField.TENANT, "cancelled",
    ]  # fmt: skip
    fields = run(r, "return {" + ", ".join(f"SESSION.{name}(7)" for name in SESSION_FIELDS) + "}")
    assert fields == [build(7) for build in SESSION_FIELDS.values()]


def test_a_name_the_preamble_lacks_is_an_error_not_nil(r: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match="no Redis name tenant_queue"):
        run(r, "return KEY.tenant_queue")
