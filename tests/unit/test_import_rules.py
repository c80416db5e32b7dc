"""The layering, checked: every first-party import points down, and no module imports itself back.

jobcore is the shared layer (the Lambda layer and the worker both ship it): it imports nothing of ours
above it. Each function is its own Lambda package: it imports jobcore and its own folder, never another
function, the worker or the CLI. The worker image ships jobcore and the worker: never the CLI or a
function. The CLI (the local stack included) and the scripts (benchmarks, the drill) may use everything
below them. Neither product code nor a script imports `tests`: a benchmark measures what users run.
Module-level imports must form no cycle (an import inside a function or under TYPE_CHECKING does not
run at import time, so it cannot make one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    layer: str  # "jobcore", "worker", "cli", "function:<folder>"


def _package_modules(package_dir: Path, package: str, layer: str) -> Iterator[Module]:
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield Module(".".join([package, *parts]), path, layer)


def first_party_modules() -> dict[str, Module]:
    modules: list[Module] = [
        *_package_modules(ROOT / "layers/core/jobcore", "jobcore", "jobcore"),
        *_package_modules(ROOT / "worker/worker", "worker", "worker"),
        *_package_modules(ROOT / "cli/traffic_tool", "traffic_tool", "cli"),
    ]
    for folder in sorted(p for p in FUNCTIONS.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.py")):
            modules.append(Module(path.stem, path, f"function:{folder.name}"))
    modules += [Module(f"scripts/{p.name}", p, "scripts") for p in sorted((ROOT / "scripts").glob("*.py"))]
    by_name = {m.name: m for m in modules}
    assert len(by_name) == len(modules), "two first-party modules share a name"
    return by_name


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(module: Module, top_level_only: bool) -> Iterator[str]:
    """Absolute names a module imports (`from a import b` yields `a.b` and `a`: b may be a module)."""
    tree = ast.parse(module.path.read_text(), filename=str(module.path))
    is_package = module.path.name == "__init__.py"

    def walk(nodes: list[ast.stmt]) -> Iterator[ast.stmt]:
        for node in nodes:
            yield node
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                if not top_level_only:
                    yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        if isinstance(child, ast.ExceptHandler):
                            yield from walk(child.body)
                        else:
                            yield from walk([child])
            elif not top_level_only and isinstance(node, DEFINITIONS):
                yield from walk(node.body)

    for node in walk(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.name.split(".")
                if not is_package:
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def _resolve(name: str, modules: dict[str, Module]) -> Module | None:
    return modules.get(name)


ALLOWED: dict[str, set[str]] = {
    "jobcore": {"jobcore"},
    "worker": {"jobcore", "worker"},
    "cli": {"jobcore", "worker", "cli", "function"},
    "scripts": {"jobcore", "worker", "cli", "function"},
}


def _allowed(importer: str, imported: str) -> bool:
    if importer.startswith("function:"):
        return imported in ("jobcore", importer)
    kind = imported.split(":", maxsplit=1)[0]
    return kind in ALLOWED[importer]


# The one script that reads test data: it draws the README's picture of the report from the sample job
# the report's browser test renders, so the picture shows what the test checks.
MAY_IMPORT_TESTS = {"scripts/report_screenshot.py"}


def layer_violations(modules: dict[str, Module]) -> list[str]:
    found = []
    for module in modules.values():
        for name in _imported_names(module, top_level_only=False):
            if (name == "tests" or name.startswith("tests.")) and module.name not in MAY_IMPORT_TESTS:
                found.append(f"{module.name} imports {name}: product code never imports tests")
                continue
            target = _resolve(name, modules)
            if target is not None and not _allowed(module.layer, target.layer):
                found.append(f"{module.name} ({module.layer}) imports {target.name} ({target.layer})")
    return sorted(set(found))


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for module in modules.values():
        targets = {_resolve(n, modules) for n in _imported_names(module, top_level_only=True)}
        graph[module.name] = {t.name for t in targets if t is not None and t.name != module.name}
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    for name, targets in graph.items():
        if modules[name].path.name == "__init__.py":
            graph[name] = {t for t in targets if not t.startswith(name + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_every_first_party_import_points_down() -> None:
    assert layer_violations(first_party_modules()) == []


def test_module_level_imports_form_no_cycle() -> None:
    assert import_cycles(first_party_modules()) == []


@pytest.mark.parametrize(
    ("layer", "source", "expected"),
    [
        ("jobcore", "from worker.loop import WorkerLoop\n", "imports worker.loop"),
        ("function:api", "import scaler_handler\n", "imports scaler_handler"),
        ("worker", "from traffic_tool.main import app\n", "imports traffic_tool.main"),
        ("cli", "from tests.support import canary\n", "never imports tests"),
        ("scripts", "from tests.support.fixture_site import FixtureSite\n", "never imports tests"),
    ],
)
def test_the_rules_catch_an_upward_import(tmp_path: Path, layer: str, source: str, expected: str) -> None:
    modules = first_party_modules()
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    modules["bad_module"] = Module("bad_module", bad, layer)
    assert any(expected in line for line in layer_violations(modules))


def test_the_cycle_finder_sees_a_cycle(tmp_path: Path) -> None:
    modules = first_party_modules()
    (tmp_path / "a.py").write_text("import jobcore.cycle_b\n")
    (tmp_path / "b.py").write_text("from jobcore import cycle_a\n")
    modules["jobcore.cycle_a"] = Module("jobcore.cycle_a", tmp_path / "a.py", "jobcore")
    modules["jobcore.cycle_b"] = Module("jobcore.cycle_b", tmp_path / "b.py", "jobcore")
    assert ["jobcore.cycle_a", "jobcore.cycle_b", "jobcore.cycle_a"] in import_cycles(modules)
