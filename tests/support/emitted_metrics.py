"""Which metric names the code emits, found by reading it (AST), not by trusting a list: every
`metric_names.X` passed as the name of an `add_metric(...)` or `single_metric(...)` call."""

from __future__ import annotations

import ast
from pathlib import Path

from jobcore import metric_names
from tests.support.cfn_yaml import PROJECT_ROOT

SOURCE_DIRS = ("functions", "worker/worker", "layers/core/jobcore", "cli/traffic_tool")
EMITTING_CALLS = frozenset({"add_metric", "single_metric"})


def _name_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "name":
            return keyword.value
    return call.args[0] if call.args else None


def emitted_in_source(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        )
        if called not in EMITTING_CALLS:
            continue
        arg = _name_argument(node)
        if (
            isinstance(arg, ast.Attribute)
            and isinstance(arg.value, ast.Name)
            and arg.value.id == "metric_names"
        ):
            found.add(str(getattr(metric_names, arg.attr)))
    return found


def emitted_metric_names(root: Path = PROJECT_ROOT) -> set[str]:
    names: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (root / folder).rglob("*.py"):
            names |= emitted_in_source(path.read_text())
    return names
