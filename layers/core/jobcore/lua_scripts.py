"""The Lua scripts of lua/ as Redis runs them: each one behind a preamble rendered from jobcore.keys.

The scripts spell no Redis name of their own. Key names; the fields of the stream entries, the job hash,
the stats hash and a heartbeat; the session statuses, the priorities and the names of the scripts' replies
come from the preamble, rendered from the Python that defines them and loaded once with each script
(tests/unit/test_lua_names.py holds the scripts to that). A key whose
name depends on a tenant or a job cannot be declared in KEYS before the script runs (claim picks the
tenant); the preamble's builders make it from the same `{tt}` hash-tagged prefix, so every key a script
touches still hashes to one cluster slot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources

from jobcore import keys
from jobcore.constants import PRIORITY_ORDER, SessionStatus
from jobcore.worker_registry import Beat

# Key names, constant and built: Lua `KEY.<name>` and `KEY.<name>(args)`.
KEY_NAMES: Mapping[str, str] = {
    "stats": keys.STATS,
    "tenant_queued": keys.TENANT_QUEUED,
    "tenant_running": keys.TENANT_RUNNING,
    "finished": keys.FINISHED,
    "streams": keys.STREAMS,
    "workers": keys.WORKERS,
}
KEY_BUILDERS: Mapping[str, tuple[Callable[..., str], tuple[str, ...]]] = {
    "job": (keys.job, ("job_id",)),
    "results": (keys.results, ("job_id",)),
    "specs": (keys.specs, ("job_id",)),
    "secrets": (keys.secrets, ("job_id",)),
    "stream": (keys.stream_name, ("priority", "tenant")),
    "rota": (keys.rota_name, ("priority",)),
    "tenant_jobs": (keys.tenant_jobs_name, ("tenant",)),
}
# Per-session fields of the job hash: Lua `SESSION.<name>(idx)`.
SESSION_FIELDS: Mapping[str, Callable[[int | str], str]] = {
    "status": keys.session_status,
    "entry": keys.session_entry,
    "attempts": keys.session_attempts,
    "history": keys.session_history,
}


class Claimed(StrEnum):
    """The names of claim.lua's reply for one claimed session."""

    ENTRY_ID = "entry_id"
    PRIORITY = "priority"
    JOB_ID = "job_id"
    INDEX = "index"
    TENANT = "tenant"
    ATTEMPT = "attempt"
    ENQUEUED_MS = "enqueued_ms"
    SPEC = "spec"  # the masked SessionSpec JSON
    SECRET = "secret"  # noqa: S105 (a name) the secrets masked out of it (JSON), '' when none


class ReapOutcome(StrEnum):
    """What reap.lua did with one stalled entry."""

    REQUEUED = "requeued"
    DEAD = "dead"
    CANCELLED = "cancelled"
    SKIP = "skip"  # renewed meanwhile, or already recovered


class EnqueueOutcome(StrEnum):
    """What enqueue.lua did: queued the job, or why not (the queue full, the tenant's quota reached, the
    job id taken)."""

    OK = "ok"
    FULL = "full"
    QUOTA = "quota"
    EXISTS = "exists"


class RedriveOutcome(StrEnum):
    """What redrive.lua did with one dead-letter entry: requeued its session, or why not."""

    REQUEUED = "requeued"
    GONE = "gone"  # the entry left the dead-letter stream already
    EXPIRED = "expired"  # the job record is gone
    CANCELLED = "cancelled"
    STALE = "stale"  # the session is no longer failed
    SECRETS_GONE = "secrets_gone"  # its job ended and dropped the secrets the session needs


_MARK = "\x00{}\x00"
_MARK_RE = re.compile("\x00(\\d+)\x00")


def lua_string(text: str) -> str:
    if not text.isascii() or not text.isprintable():
        raise ValueError(f"{text!r}: a Redis name here is printable ASCII")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lua_builder(build: Callable[..., str], params: tuple[str, ...]) -> str:
    """A Lua function building what `build` builds: `build` is called with markers in place of its
    arguments, and the text around them becomes the function's string constants."""
    parts = _MARK_RE.split(build(*(_MARK.format(k) for k in range(len(params)))))
    pieces = [params[int(p)] if k % 2 else lua_string(p) for k, p in enumerate(parts) if k % 2 or p]
    return f"function({', '.join(params)}) return {' .. '.join(pieces)} end"


# Names given by an enum: Lua `<TABLE>.<member name in lower case>` is the member's value.
ENUM_TABLES: Mapping[str, type[StrEnum]] = {
    "JOB": keys.JobField,
    "FIELD": keys.EntryField,
    "STATUS": SessionStatus,
    "CLAIMED": Claimed,
    "BEAT": Beat,
    "REAP": ReapOutcome,
    "ENQUEUE": EnqueueOutcome,
    "REDRIVE": RedriveOutcome,
}


def _enum_table(enum: type[StrEnum]) -> dict[str, str]:
    return {member.name.lower(): lua_string(member.value) for member in enum}


@cache
def name_tables() -> dict[str, dict[str, str]]:
    """Each Lua table of names the preamble declares: table -> name -> its Lua value (a string literal or
    a builder function)."""
    key_table = {name: lua_string(value) for name, value in KEY_NAMES.items()}
    key_table |= {name: lua_builder(build, params) for name, (build, params) in KEY_BUILDERS.items()}
    stat_table = {
        "backlog": lua_string(keys.STATS_BACKLOG),
        "running": lua_string(keys.STATS_RUNNING),
        "backlog_at": lua_builder(keys.stats_backlog, ("priority",)),
    }
    return {
        "KEY": key_table,
        "SESSION": {name: lua_builder(build, ("idx",)) for name, build in SESSION_FIELDS.items()},
        "STAT": stat_table,
        **{table: _enum_table(enum) for table, enum in ENUM_TABLES.items()},
    }


@cache
def preamble() -> str:
    """The Lua every script starts with: the names it may use, each rendered from its Python source.
    A name a script asks for and the preamble lacks is an error, not a nil."""
    tables = "".join(
        f"local {table} = names({{\n" + "".join(f"  {n} = {v},\n" for n, v in entries.items()) + "})\n"
        for table, entries in name_tables().items()
    )
    return (
        "-- Rendered by jobcore.lua_scripts from jobcore.keys and the enums it names: do not spell these.\n"
        "local function names(t)\n"
        "  return setmetatable(t, {__index = function(_, k) error('no Redis name ' .. tostring(k)) end})\n"
        "end\n"
        f"local GROUP = {lua_string(keys.GROUP)}\n"
        f"local PRIORITIES = {{{', '.join(lua_string(p.value) for p in PRIORITY_ORDER)}}}\n" + tables
    )


def script_body(name: str) -> str:
    """A script of lua/ as written (no preamble)."""
    return (resources.files("jobcore") / "lua" / f"{name}.lua").read_text()


@cache
def load_script(name: str) -> str:
    """A script of lua/ as Redis runs it: the preamble, the shared functions of common.lua, the script."""
    return preamble() + "\n" + script_body("common") + "\n" + script_body(name)


def pairs_to_dict(flat: list[str]) -> dict[str, str]:
    """A script's named reply (field, value, field, value, ...) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
