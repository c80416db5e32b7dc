"""Tests read template.yaml with the same CloudFormation YAML loader as the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traffic_tool.local.cfn_yaml import CfnLoader, load_template, loads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
EVENTS_DIR = PROJECT_ROOT / "events"


def project_template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


__all__ = [
    "EVENTS_DIR",
    "PROJECT_ROOT",
    "TEMPLATE_PATH",
    "CfnLoader",
    "load_template",
    "loads",
    "project_template",
]
