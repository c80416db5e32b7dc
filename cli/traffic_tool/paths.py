"""Where the project's files are: the template, the functions, the sample site, the state directory."""

from __future__ import annotations

from pathlib import Path

from jobcore.settings import setting_from_environment


def project_root() -> Path:
    """The folder holding template.yaml (TRAFFIC_TOOL_PROJECT_ROOT, else found above this package)."""
    configured = setting_from_environment("project_root")
    if configured:
        return Path(configured)
    for folder in Path(__file__).resolve().parents:
        if (folder / "template.yaml").is_file():
            return folder
    raise FileNotFoundError("template.yaml not found; set TRAFFIC_TOOL_PROJECT_ROOT to the project folder")
