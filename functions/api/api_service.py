"""Built once per execution environment (cold start): settings checked, Redis connected lazily."""

from __future__ import annotations

from functools import cache

from jobcore.jobs import JobService
from jobcore.redis_conn import connect
from jobcore.settings import Settings, load_settings


@cache
def settings() -> Settings:
    return load_settings()


@cache
def service() -> JobService:
    return JobService(connect(settings()), settings())


def reset() -> None:
    """Forget the cached settings and service (the local adapter and tests change the environment)."""
    settings.cache_clear()
    service.cache_clear()
