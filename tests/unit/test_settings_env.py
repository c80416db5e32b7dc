"""Settings is the one source of the TRAFFIC_TOOL_<NAME> variables and of their defaults: every such
name spelled anywhere in the project is a setting (or one of the few listed marks that are not), and
the environment a process is started with is built from the model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobcore.constants import ENV_PREFIX
from jobcore.scaling import ScalingPolicy
from jobcore.settings import DEFAULTS, Settings, env_name, settings_env
from traffic_tool.local.stack import LocalStack
from traffic_tool.local.stack_config import StackConfig

ROOT = Path(__file__).resolve().parents[2]

# Variables with the prefix that are not settings, each with the reason; each is spelled once in the code.
NOT_SETTINGS = {
    "TRAFFIC_TOOL_OWNER_PID": "the worker's mark on the browsers it launches, read back to find orphans",
}

_NAME = re.compile(ENV_PREFIX + r"[A-Z0-9][A-Z0-9_]*")
_SKIPPED_FOLDERS = {
    ".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".aws-sam", ".state", ".schemathesis",
    "__pycache__", "node_modules",
}  # fmt: skip


def project_texts() -> dict[Path, str]:
    texts: dict[Path, str] = {}
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if any(part in _SKIPPED_FOLDERS or part.endswith(".egg-info") for part in relative.parts):
            continue
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            texts[relative] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def test_every_prefixed_name_in_the_project_is_a_setting_or_a_listed_mark() -> None:
    settings = {env_name(field) for field in Settings.model_fields}
    texts = project_texts()
    assert Path("template.yaml") in texts and Path("README.md") in texts  # the scan reads the project
    unknown = {
        f"{name} ({path})"
        for path, text in texts.items()
        for name in _NAME.findall(text)
        if name not in settings and name not in NOT_SETTINGS
    }
    assert not unknown, "not a field of jobcore.settings.Settings: " + ", ".join(sorted(unknown))
    for name in NOT_SETTINGS:
        places = [p for p, text in texts.items() if p.parts[0] != "tests" and f'"{name}"' in text]
        assert len(places) == 1, f"{name} is spelled as a string in {places or 'no file'}: name it once"


def test_settings_env_is_read_back_as_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    given = {
        "redis_url": "redis://127.0.0.1:6390/2",
        "offline_dns": True,
        "analytics_ledger": False,
        "scale_out_cooldown_s": 12.5,
        "min_workers": 0,
        "tokens": "a=token-a",
    }
    env = settings_env(**given)
    assert env["TRAFFIC_TOOL_OFFLINE_DNS"] == "true" and env["TRAFFIC_TOOL_MIN_WORKERS"] == "0"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    read = Settings()
    assert {field: getattr(read, field) for field in given} == given


def test_settings_env_refuses_a_name_that_is_no_setting() -> None:
    with pytest.raises(ValueError, match="'worker_id' is not a setting"):
        settings_env(redis_url="redis://127.0.0.1:6390/0", worker_id="local-1")


def test_the_scaling_policy_defaults_are_the_scaler_settings_defaults() -> None:
    assert ScalingPolicy() == ScalingPolicy.from_settings(DEFAULTS) == ScalingPolicy.from_settings(Settings())


def test_the_local_stack_runs_the_default_cooldowns_and_archive_age_at_its_speed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for field in ("scale_out_cooldown_s", "scale_in_cooldown_s"):
        monkeypatch.delenv(env_name(field), raising=False)
    stack = LocalStack(StackConfig(project_root=ROOT, state_dir=tmp_path, speed=10.0, min_workers=0))
    stack.redis, stack.aws = _Listener(6390), _Listener(6391)  # type: ignore[assignment]  # not started
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    started = Settings()
    assert started.scale_out_cooldown_s == DEFAULTS.scale_out_cooldown_s / 10
    assert started.scale_in_cooldown_s == DEFAULTS.scale_in_cooldown_s / 10
    assert started.archive_age_s == DEFAULTS.archive_age_s // 10
    assert (started.schedule_speed, started.min_workers, started.project_root) == (10.0, 0, str(ROOT))
    assert {port for _, port in started.internal_endpoint_set} == {6390, 6391, stack.config.port}


class _Listener:
    """What environment() reads of the stack's Redis and moto: a port, a URL, an environment."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    def env(self) -> dict[str, str]:
        return settings_env(bucket="local-bucket")
