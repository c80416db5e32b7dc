"""Built once per execution environment (cold start): settings, Redis, and the capacity backend.

In AWS the backend is the workers' ECS service. The local stack injects its own (worker processes)
with `use_backend`, and the same handler then drives it.
"""

from __future__ import annotations

import redis

from jobcore.capacity import CapacityBackend
from jobcore.cold_start import once, settings
from jobcore.ecs_capacity import EcsCapacity
from jobcore.redis_conn import connect

_injected: CapacityBackend | None = None


def _connect() -> redis.Redis:
    return connect(settings())


client = once(_connect, close=redis.Redis.close)


@once
def _ecs() -> CapacityBackend:
    cfg = settings()
    if not cfg.ecs_cluster or not cfg.ecs_service:
        raise RuntimeError(
            "the scaler has no capacity backend: set TRAFFIC_TOOL_ECS_CLUSTER and TRAFFIC_TOOL_ECS_SERVICE, "
            "or inject one with scaler_backend.use_backend()"
        )
    return EcsCapacity(cfg.ecs_cluster, cfg.ecs_service)


def backend() -> CapacityBackend:
    return _injected if _injected is not None else _ecs()


def use_backend(chosen: CapacityBackend | None) -> None:
    """Drive `chosen` instead of ECS (the local stack); None goes back to ECS."""
    global _injected  # noqa: PLW0603 - one backend per process, like the cached settings
    _injected = chosen
