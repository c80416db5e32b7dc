"""The measured (and assumed) per-task figures the simulator starts from:
`docs/capacity/measured-figures.json`, rewritten in part by `make bench-worker` and `make bench-api`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from traffic_tool.paths import project_root

FIGURES_FILE = Path("docs/capacity/measured-figures.json")


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    kind: str  # measured or assumption
    source: str


def default_path() -> Path:
    return project_root() / FIGURES_FILE


def load_figures(path: Path | None = None) -> dict[str, Figure]:
    target = path or default_path()
    try:
        raw = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the measured figures {target}: {exc}") from None
    return {
        name: Figure(float(f["value"]), f["unit"], f["kind"], f["source"])
        for name, f in raw["figures"].items()
    }


def write_figures(updates: dict[str, Figure], path: Path) -> None:
    """Replace the named entries, keep the others (a benchmark writes only what it measured)."""
    raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"figures": {}}
    for name, figure in updates.items():
        raw["figures"][name] = {
            "value": figure.value,
            "unit": figure.unit,
            "kind": figure.kind,
            "source": figure.source,
        }
    path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
