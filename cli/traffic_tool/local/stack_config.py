"""What the local stack is started with, and its defaults: light to import, so that the CLI's flags
(`traffic-tool dev`, `traffic-tool api`) show the same defaults without loading the stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from jobcore.settings import DEFAULTS

# The clients' default API URL (TRAFFIC_TOOL_API_URL's default) is where the local API listens.
LOCAL_API_PORT: int = urlsplit(DEFAULTS.api_url).port or 80
LOCAL_TOKENS = "local=local-token"


@dataclass
class StackConfig:
    project_root: Path
    state_dir: Path
    port: int = LOCAL_API_PORT
    tokens: str = LOCAL_TOKENS
    operators: str = ""  # names in `tokens` whose tokens carry the operator role
    allow_targets: str = ""  # the sites the sessions may reach (the tests' and the demo's pick theirs)
    # a fleet for one machine with two cores, not the cloud's (Settings' min_workers/max_workers)
    min_workers: int = 1
    max_workers: int = 2
    sessions_per_worker: int = DEFAULTS.sessions_per_worker
    speed: float = DEFAULTS.schedule_speed  # schedules and scaler cooldowns run this many times faster
    offline_dns: bool = True  # unlike the cloud's workers: the local stack resolves nothing but loopback
    redis_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
