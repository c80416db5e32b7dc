"""Where the client commands find the API when given no URL or token: `.state/client.json`, which
`traffic-tool dev` writes (its API URL and a local operator token, readable by its owner only)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from jobcore.settings import DEFAULTS

STATE_DIR = Path(".state")  # `traffic-tool dev`'s default --state-dir, under the current folder
CLIENT_FILE = "client.json"
DEFAULT_API = DEFAULTS.api_url


@dataclass(frozen=True)
class ClientState:
    api_url: str
    token: str


def write_client_state(state_dir: Path, state: ClientState) -> Path:
    """Written 0600 from the first byte: the token is never readable by others, not even briefly."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / CLIENT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as out:
        json.dump({"api_url": state.api_url, "token": state.token}, out)
    return path


def read_client_state(state_dir: Path = STATE_DIR) -> ClientState | None:
    try:
        data = json.loads((state_dir / CLIENT_FILE).read_text())
        return ClientState(str(data["api_url"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_client_state(state_dir: Path) -> None:
    (state_dir / CLIENT_FILE).unlink(missing_ok=True)


def resolve(api_url: str, token: str, state_dir: Path = STATE_DIR) -> ClientState:
    """A flag or TRAFFIC_TOOL_* setting wins; what `dev` wrote fills the rest. The local token goes
    only to the local stack's own URL: given another URL, no token is borrowed."""
    saved = read_client_state(state_dir)
    url = api_url or (saved.api_url if saved else DEFAULT_API)
    if not token and saved is not None and url.rstrip("/") == saved.api_url.rstrip("/"):
        token = saved.token
    return ClientState(url, token)
