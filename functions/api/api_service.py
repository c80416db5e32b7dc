"""Built once per execution environment (cold start): settings checked, Redis connected lazily."""

from __future__ import annotations

from jobcore.archive import S3ArchiveStore
from jobcore.check_plane import CheckPlane
from jobcore.check_plane import build as build_check_plane
from jobcore.cold_start import once, settings
from jobcore.fleet_totals import FleetTotals
from jobcore.jobs import JobService
from jobcore.redis_conn import connect, connect_probe
from jobcore.store import JobStore


@once
def archive() -> S3ArchiveStore | None:
    """The results bucket: archived jobs, and the screenshots and artifacts the API links to."""
    return S3ArchiveStore(settings().bucket) if settings().bucket else None


def presign(s3_url: str) -> str:
    store = archive()
    return store.presign(s3_url, settings().artifact_url_expiry_s) if store is not None else s3_url


@once
def service() -> JobService:
    linker = presign if archive() is not None else None
    return JobService(connect(settings()), settings(), archive=archive(), presign=linker)


@once
def check_plane() -> CheckPlane:
    """Checks and webhooks share the job service (one egress policy, one Redis connection)."""
    jobs = service()
    return build_check_plane(jobs.queue.r, settings(), jobs=jobs)


@once
def health_store() -> JobStore:
    """/health reads through its own short-timeout connection: it must answer fast when Redis is gone."""
    return JobStore(connect_probe(settings()))


@once
def totals() -> FleetTotals:
    """Request counts go through the probe connection: a 503 must not wait on retries to count itself."""
    return FleetTotals(health_store().r)
