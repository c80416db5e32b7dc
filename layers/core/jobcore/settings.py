"""The one settings model. Every field is the environment variable TRAFFIC_TOOL_<NAME>.

Read once per process (cold start for a Lambda) and validated then, so a bad
value fails loudly at start rather than on the first request. Code that starts a
process builds its environment with `settings_env`, and code that needs a default
reads it from `DEFAULTS`: neither spells a name or a value again.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobcore import limits
from jobcore.allow_rules import AllowRule, IPAddress, parse_allow_rules
from jobcore.constants import ENV_PREFIX
from jobcore.resolver import parse_dns_servers


def parse_tokens(text: str) -> dict[str, str]:
    """Parse `tenant=token,tenant2=token2` into {tenant: token}."""
    pairs: dict[str, str] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        tenant, sep, token = item.partition("=")
        if not sep or not tenant.strip() or not token.strip():
            raise ValueError(f"tokens entry {item.split('=')[0]!r}… must look like tenant=token")
        pairs[tenant.strip()] = token.strip()
    return pairs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Redis job plane
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_auth_secret_name: str = Field(
        default="", description="AWS: Secrets Manager secret whose `token` field is the Redis AUTH token"
    )
    redis_socket_timeout_s: float = 5.0
    redis_wait_timeout_ms: int = Field(default=500, ge=0)
    lease_s: int = Field(
        default=30, ge=2, description="a claimed session is stalled when not renewed for this long"
    )
    max_attempts: int = Field(default=3, ge=1, le=10)
    job_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="TTL of finished job records in Redis")
    archive_age_s: int = Field(default=24 * 3600, ge=0)

    archived_ttl_s: int = Field(
        default=3600, ge=0, description="how long a record stays in Redis once archived"
    )

    # fleet (scaler): the seed's plan by default
    ecs_cluster: str = ""
    ecs_service: str = ""
    min_workers: int = Field(default=2, ge=0)
    max_workers: int = Field(default=10, ge=1)
    scale_out_step: int = Field(default=2, ge=1)
    scale_out_cooldown_s: float = Field(default=120.0, ge=0)
    scale_in_cooldown_s: float = Field(default=300.0, ge=0)
    scale_in_idle_periods: int = Field(default=5, ge=1)
    scale_in_utilisation: float = Field(default=0.20, ge=0, le=1)

    # admission control
    max_backlog: int = Field(default=100_000, ge=1, description="queued sessions fleet-wide before 429")
    tenant_quota: int = Field(default=20_000, ge=1, description="queued sessions per tenant before 429")
    tenant_max_running: int = Field(
        default=0, ge=0, description="sessions one tenant may run at once across the fleet (0: no limit)"
    )
    tenant_max_share: float = Field(
        default=limits.DEFAULT_TENANT_MAX_SHARE,
        gt=0.5,
        le=1.0,
        description="while another tenant waits, a tenant running this share of the live fleet's slots "
        "(and never all of them) gets no more; alone it may use every slot (1: off)",
    )
    retry_after_s: int = Field(default=10, ge=1)

    # auth: local stack only (`tenant=token,…`); in AWS the tokens secret holds SHA-256 hashes
    tokens: str = ""
    tokens_secret_name: str = ""
    operators: str = Field(
        default="", description="local stack only: names in `tokens` whose tokens carry the operator role"
    )
    tokens_cache_s: int = 300

    # egress policy: addresses (CIDR, optionally :port) exempt from the policy (empty in production)
    allow_targets: str = ""
    internal_endpoints: str = Field(
        default="",
        description="ip:port,… of the stack's own services (local stack): refused even inside the allow-list",
    )
    dns_servers: str = Field(
        default="", description="DNS servers the egress policy asks (ip[:port],…); empty: the system's"
    )
    egress_guard_disabled_for_tests: bool = Field(
        default=False,
        description="TESTS ONLY: the egress proxy connects anywhere, to show that the guard tests can fail",
    )

    # API
    enable_swagger: bool = False

    artifact_url_expiry_s: int = Field(
        default=900, ge=60, le=7 * 24 * 3600, description="life of the presigned links to artifacts"
    )

    # clients (CLI)
    api_url: str = "http://127.0.0.1:8080"
    token: str = ""
    project_root: str = Field(
        default="", description="CLI: the folder holding template.yaml; empty: found above the package"
    )

    # worker
    chromium_path: str = "/usr/lib/chromium/chromium-headless-shell"
    chromium_headful_path: str = "/usr/bin/chromium"
    sessions_per_worker: int = Field(default=4, ge=1, le=64)
    worker_cpu_units: int = Field(default=2048, ge=256, description="the task's WorkerCpu (cost ledger)")
    worker_memory_mb: int = Field(default=4096, ge=512, description="the task's WorkerMemory (cost ledger)")
    headful: bool = False
    offline_dns: bool = Field(
        default=False, description="tests and the local stack only: Chromium resolves nothing but loopback"
    )
    bucket: str = ""
    browsers_per_worker: int = Field(
        default=2, ge=1, le=16, description="long-lived browsers per worker process"
    )
    browser_max_sessions: int = Field(
        default=200, ge=1, description="a browser is retired after this many sessions"
    )
    browser_max_rss_mb: int = Field(
        default=1500, ge=100, description="a browser is retired above this RSS (MB)"
    )
    renderer_heap_mb: int = Field(
        default=512, ge=64, description="V8 heap cap per renderer: memory bombs crash early"
    )
    session_grace_s: float = Field(
        default=5.0, ge=0.5, description="watchdog grace past a session's timeout_s"
    )
    stop_timeout_s: float = Field(
        default=25.0, ge=1.0, description="SIGTERM: finish or hand back within this"
    )
    log_level: str = Field(
        default="", description="the worker's log level; empty: POWERTOOLS_LOG_LEVEL, else INFO"
    )
    heartbeat_s: float = Field(default=5.0, gt=0)
    heartbeat_file: str = Field(
        default="", description="touched after each Redis heartbeat; the container health check reads its age"
    )
    claim_poll_s: float = Field(default=0.5, gt=0, description="idle wait between empty claims")
    analytics_wait_ms: int = Field(
        default=3000, ge=0, description="expect.analytics: wait this long for a hit"
    )
    analytics_ledger: bool = Field(
        default=True,
        description="record tag script loads, request URLs and Web Vitals (off only to measure their cost)",
    )
    orphan_reaper_interval_s: float = Field(
        default=30.0, gt=0, description="orphaned Chrome processes reaped this often"
    )
    user_agent_token: str = Field(
        default="traffic-tool/0.1", description="appended to Chromium's own user agent"
    )
    extra_ca_file: str = Field(
        default="", description="PEM file of CA certificates the browsers trust besides the system's"
    )
    extra_ca_pem: str = Field(
        default="",
        description="the same as PEM text: how ECS hands a secret (SSM or Secrets Manager) to a task",
    )

    # recurring checks: EventBridge Scheduler in AWS; empty group = the local stack's Redis
    check_schedule_group: str = Field(default="", description="the stack's schedule group for checks")
    dispatch_function_arn: str = Field(default="", description="what each check's schedule invokes")
    check_scheduler_role_arn: str = Field(default="", description="the role the schedules invoke it with")
    schedule_speed: float = Field(
        default=1.0, gt=0, description="local stack only: check schedules run this many times faster"
    )
    alerts_topic_arn: str = Field(default="", description="SNS topic that receives every check transition")
    webhook_timeout_s: float = Field(
        default=limits.WEBHOOK_TIMEOUT_S, gt=0, description="per delivery attempt"
    )

    @field_validator("allow_targets")
    @classmethod
    def _check_allow_rules(cls, value: str) -> str:
        parse_allow_rules(value)
        return value

    @field_validator("internal_endpoints")
    @classmethod
    def _check_internal_endpoints(cls, value: str) -> str:
        if any(rule.port is None or rule.network.num_addresses != 1 for rule in parse_allow_rules(value)):
            raise ValueError("internal endpoints are ip:port entries")
        return value

    @field_validator("dns_servers")
    @classmethod
    def _check_dns_servers(cls, value: str) -> str:
        parse_dns_servers(value)
        return value

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, value: str) -> str:
        parse_tokens(value)
        return value

    @cached_property
    def allow_rules(self) -> tuple[AllowRule, ...]:
        return parse_allow_rules(self.allow_targets)

    @cached_property
    def internal_endpoint_set(self) -> frozenset[tuple[IPAddress, int]]:
        return frozenset(
            (rule.network.network_address, rule.port)
            for rule in parse_allow_rules(self.internal_endpoints)
            if rule.port is not None
        )

    @cached_property
    def dns_server_list(self) -> tuple[str, ...]:
        return parse_dns_servers(self.dns_servers)

    @cached_property
    def token_map(self) -> dict[str, str]:
        return parse_tokens(self.tokens)

    @cached_property
    def operator_names(self) -> frozenset[str]:
        return frozenset(n.strip() for n in self.operators.split(",") if n.strip())

    @property
    def lease_ms(self) -> int:
        return self.lease_s * 1000


DEFAULTS: Final = Settings.model_construct()
"""Every setting at its default, whatever the environment says: where a default is needed elsewhere."""


def env_name(field: str) -> str:
    """The environment variable of one setting: TRAFFIC_TOOL_<FIELD>."""
    if field not in Settings.model_fields:
        raise ValueError(f"{field!r} is not a setting (jobcore.settings.Settings)")
    return f"{ENV_PREFIX}{field.upper()}"


def _env_text(value: object) -> str:
    # pydantic reads "true"/"false"; str(True) would be "True", which it also reads, but say it plainly
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def settings_env(**fields: object) -> dict[str, str]:
    """The environment that starts a process with these settings, e.g. settings_env(redis_url=url)
    == {"TRAFFIC_TOOL_REDIS_URL": url}. An unknown field is an error, not a variable nobody reads."""
    return {env_name(field): _env_text(value) for field, value in fields.items()}


def setting_from_environment(field: str) -> str:
    """One setting's raw value, without validating the others: for what must work before Settings
    can be built (the worker's log level, to log invalid settings) or without it (the project folder)."""
    return os.environ.get(env_name(field), "")


def load_settings() -> Settings:
    return Settings()
