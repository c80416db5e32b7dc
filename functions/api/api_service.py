"""Built once per execution environment (cold start): settings checked, Redis connected lazily."""

from __future__ import annotations

from functools import cache

from jobcore.archive import S3ArchiveStore
from jobcore.jobs import JobService
from jobcore.redis_conn import connect
from jobcore.settings import Settings, load_settings


@cache
def settings() -> Settings:
    return load_settings()


@cache
def service() -> JobService:
    archive = S3ArchiveStore(settings().bucket) if settings().bucket else None
    presign = archive.presign if archive is not None else None
    return JobService(connect(settings()), settings(), archive=archive, presign=presign)


def reset() -> None:
    """Forget the cached settings and service (the local adapter and tests change the environment)."""
    settings.cache_clear()
    service.cache_clear()
