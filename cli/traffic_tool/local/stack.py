"""The whole system on one machine, no AWS account: `traffic-tool dev` and `traffic-tool demo`.

Redis (AOF on, under the state directory), moto standing in for S3 and
CloudWatch, the API handlers behind the local adapter, the template's
schedules, and worker processes that the scaler starts and stops.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

from jobcore import metric_names
from jobcore.settings import DEFAULTS, env_name, load_settings, settings_env
from traffic_tool.local.adapter import LocalApi, LocalApiServer
from traffic_tool.local.check_scheduler import LocalCheckScheduler
from traffic_tool.local.moto_aws import LocalAws
from traffic_tool.local.prometheus_text import prometheus_source
from traffic_tool.local.redis_process import RedisServer
from traffic_tool.local.scheduler import LocalScheduler
from traffic_tool.local.stack_config import StackConfig
from traffic_tool.local.worker_fleet import LocalWorkerFleet

Say = Callable[[str], None]

# The scaler's cooldowns run `speed` times faster unless the environment sets them.
_KEPT_FROM_ENVIRONMENT = (env_name("scale_out_cooldown_s"), env_name("scale_in_cooldown_s"))


class LocalStack:
    def __init__(self, config: StackConfig, say: Say = print) -> None:
        self.config = config
        self.say = say
        self.redis: RedisServer | None = None
        self.aws: LocalAws | None = None
        self.server: LocalApiServer | None = None
        self.fleet: LocalWorkerFleet | None = None
        self.scheduler: LocalScheduler | None = None
        self.check_scheduler: LocalCheckScheduler | None = None
        self._server_thread: threading.Thread | None = None
        self._last_reason: object = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def environment(self) -> dict[str, str]:
        c = self.config
        assert self.redis is not None and self.aws is not None
        env = {
            **settings_env(
                redis_url=self.redis.url,
                tokens=c.tokens,
                operators=c.operators,
                allow_targets=c.allow_targets,
                # Never reachable from a session, whatever the allow-list says: Redis, moto, the API.
                internal_endpoints=",".join(
                    f"127.0.0.1:{port}" for port in (self.redis.port, self.aws.port, c.port)
                ),
                offline_dns=c.offline_dns,
                min_workers=c.min_workers,
                max_workers=c.max_workers,
                sessions_per_worker=c.sessions_per_worker,
                scale_out_cooldown_s=DEFAULTS.scale_out_cooldown_s / c.speed,
                scale_in_cooldown_s=DEFAULTS.scale_in_cooldown_s / c.speed,
                archive_age_s=int(DEFAULTS.archive_age_s / c.speed),
                schedule_speed=c.speed,
                api_url=self.api_url,
                project_root=c.project_root,
            ),
            "POWERTOOLS_TRACE_DISABLED": "true",
            metric_names.NAMESPACE_ENV: metric_names.NAMESPACE,
            # no CloudWatch here: EMF lines would only flood the console; /metrics and `top` read Redis
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **self.aws.env(),
        }
        # Settings given in the environment win over the stack's defaults.
        keep = {k: os.environ[k] for k in _KEPT_FROM_ENVIRONMENT if k in os.environ}
        return {**env, **keep, **c.extra_env}

    def start(self) -> LocalStack:
        c = self.config
        try:
            self.redis = RedisServer(port=c.redis_port, data_dir=c.state_dir / "redis")
            self.redis.appendfsync = "everysec"
            self.redis.start()
            self.say(f"redis-server on {self.redis.url} (AOF under {self.redis.dir})")
            self.aws = LocalAws().start()
            self.say(f"moto (S3, CloudWatch) on {self.aws.endpoint}, bucket {self.aws.bucket}")
            env = self.environment()
            os.environ.update(env)
            self.server = LocalApiServer(
                ("127.0.0.1", c.port), LocalApi(c.project_root), metrics=prometheus_source(self.redis.url)
            )
            self._server_thread = threading.Thread(target=self.server.serve_forever, args=(0.2,), daemon=True)
            self._server_thread.start()
            tenants = ", ".join(t.split("=")[0] for t in c.tokens.split(","))
            self.say(
                f"job API on {self.api_url} (tenants: {tenants}); Prometheus text on {self.api_url}/metrics"
            )
            self.fleet = LocalWorkerFleet(env, c.state_dir / "logs")
            self.scheduler = LocalScheduler(c.project_root, c.speed, self._report)
            importlib.import_module("scaler_backend").use_backend(self.fleet)
            self.fleet.set_desired(c.min_workers)
            logs = c.state_dir / "logs"
            self.say(f"{c.min_workers} worker(s) (min {c.min_workers}, max {c.max_workers}); logs in {logs}")
            self.scheduler.start()
            self.check_scheduler = LocalCheckScheduler(c.project_root, load_settings(), self._report)
            self.check_scheduler.start()
            names = ", ".join(
                f"{f.schedule.function_logical_id} every {f.interval_s:g} s" for f in self.scheduler.functions
            )
            self.say(f"schedules: {names}")
        except BaseException:
            self.stop()
            raise
        return self

    def _report(self, function: str, summary: dict[str, Any] | None, error: BaseException | None) -> None:
        if self.fleet is not None:
            self.fleet.reconcile()  # replace dead workers between scaler runs too
        if error is not None:
            self.say(f"{function}: failed: {error}")
            return
        if not summary:
            return
        # Print what changed: a scaling step or a new reason, recovered sessions, archived jobs.
        if function == "DispatchFunction":
            pass  # every check run is news
        elif function == "ScalerFunction":
            reason = summary.get("reason")
            if not summary.get("changed") and reason == self._last_reason:
                return
            self._last_reason = reason
        elif not any(
            v
            for k, v in summary.items()
            if k in ("requeued", "dead_lettered", "archived", "notifications", "delivered", "dead")
        ):
            return
        self.say(f"{function}: {summary}")

    def stop(self) -> None:
        """Stop everything this stack started, workers first and Redis last; nothing is left behind."""
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.check_scheduler is not None:
            self.check_scheduler.stop()
        if self.fleet is not None:
            self.fleet.shutdown()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.aws is not None:
            self.aws.stop()
        if self.redis is not None:
            self.redis.stop()
