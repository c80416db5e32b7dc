"""Built once per execution environment (cold start): settings checked, Redis connected lazily."""

from __future__ import annotations

from functools import cache

from jobcore.archive import S3ArchiveStore
from jobcore.check_plane import CheckPlane
from jobcore.check_plane import build as build_check_plane
from jobcore.fleet_totals import FleetTotals
from jobcore.jobs import JobService
from jobcore.redis_conn import connect, connect_probe
from jobcore.settings import Settings, load_settings
from jobcore.store import JobStore


@cache
def settings() -> Settings:
    return load_settings()


@cache
def archive() -> S3ArchiveStore | None:
    """The results bucket: archived jobs, and the screenshots and artifacts the API links to."""
    return S3ArchiveStore(settings().bucket) if settings().bucket else None


def presign(s3_url: str) -> str:
    store = archive()
    return store.presign(s3_url, settings().artifact_url_expiry_s) if store is not None else s3_url


@cache
def service() -> JobService:
    linker = presign if archive() is not None else None
    return JobService(connect(settings()), settings(), archive=archive(), presign=linker)


@cache
def check_plane() -> CheckPlane:
    """Checks and webhooks share the job service (one egress policy, one Redis connection)."""
    jobs = service()
    return build_check_plane(jobs.queue.r, settings(), jobs=jobs)


@cache
def health_store() -> JobStore:
    """/health reads through its own short-timeout connection: it must answer fast when Redis is gone."""
    return JobStore(connect_probe(settings()))


@cache
def totals() -> FleetTotals:
    """Request counts go through the probe connection: a 503 must not wait on retries to count itself."""
    return FleetTotals(health_store().r)


def reset() -> None:
    """Forget the cached settings and service (the local adapter and tests change the environment)."""
    settings.cache_clear()
    archive.cache_clear()
    service.cache_clear()
    check_plane.cache_clear()
    health_store.cache_clear()
    totals.cache_clear()
