"""Finished jobs older than the archive age → gzip JSON in the results bucket; only then may their
Redis records expire. GET /jobs/{id} reads an archived job back through the same store.

One job at a time: WATCH its keys, read its view, write the object, then in one transaction drop
it from the archiver's list and shorten its TTL. A job that changed meanwhile (a cancel on a finished
job) fails the WATCH and waits for the next run. Of two overlapping runs, the one whose ZREM takes the
job off the list counts it; writing the same bytes twice is harmless, so a re-run after a crash or an
overlap neither loses nor doubles anything.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from jobcore import keys
from jobcore.errors import JobNotFoundError, StoreUnavailableError
from jobcore.masking import mask_obj
from jobcore.models import JobView
from jobcore.redis_conn import store_errors
from jobcore.s3_layout import archive_key
from jobcore.store import ArchiveReader, JobStore


class ArchiveStore(ArchiveReader, Protocol):
    """Where archived jobs live: written by the archiver, read back by the API."""

    def write(self, tenant: str, view: JobView) -> None: ...


@dataclass(frozen=True)
class ArchiveReport:
    archived: int = 0
    vanished: int = 0  # listed as finished but its record was already gone: nothing left to archive
    deferred: int = 0  # changed or taken by an overlapping run meanwhile; the next run looks again


def encode(tenant: str, view: JobView) -> bytes:
    """Gzip JSON of the view and its tenant. The view is masked already; masking again costs little
    and keeps a careless result writer's `user:pass@` URL or bearer token out of the archive."""
    document = mask_obj({"tenant": tenant, **view.model_dump(mode="json")})
    # mtime=0: the same job always gives the same bytes (and the same ETag)
    return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)


def decode(data: bytes) -> tuple[str, JobView]:
    document: dict[str, Any] = json.loads(gzip.decompress(data))
    tenant = str(document.pop("tenant"))
    return tenant, JobView.model_validate(document)


class S3ArchiveStore:
    """The archive in S3, under s3_layout.archive_key (archive/<tenant>/<YYYY/MM/DD>/<job>.json.gz)."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        if not bucket:
            raise ValueError("S3ArchiveStore needs a bucket name")
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        # Created on first use, not at cold start: most API calls never read the archive. The endpoint
        # comes from AWS_ENDPOINT_URL(_S3) when set (moto in tests and in the local stack).
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def presign(self, s3_url: str, expires_s: int = 3600) -> str:
        """An HTTPS link to an s3://bucket/key object (a screenshot), valid for `expires_s`."""
        bucket, _, key = s3_url.removeprefix("s3://").partition("/")
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url

    def read_object(self, s3_url: str) -> bytes:
        """The bytes of an s3://bucket/key object of this bucket (a screenshot for the job's report)."""
        bucket, _, key = s3_url.removeprefix("s3://").partition("/")
        if bucket != self.bucket:
            raise ValueError(f"{s3_url} is not in the results bucket")
        body: bytes = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def write(self, tenant: str, view: JobView) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=archive_key(tenant, view.job_id),
                Body=encode(tenant, view),
                ContentType="application/gzip",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailableError(f"the archive (S3) refused the write: {exc}") from exc

    def read(self, tenant: str, job_id: str) -> JobView | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            key = archive_key(tenant, job_id)
        except ValueError:  # not a tenant or a job id this system makes: nothing archived under it
            return None
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StoreUnavailableError(f"the archive (S3) is unavailable: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"the archive (S3) is unavailable: {exc}") from exc
        owner, view = decode(body)
        return view if owner == tenant and view.job_id == job_id else None


class Archiver:
    def __init__(self, client: redis.Redis, writer: ArchiveStore) -> None:
        self.r = client
        self.writer = writer
        self.store = JobStore(client)  # Redis only: the archiver must never read its own output back

    def archive_due(self, now: float, archive_age_s: float, archived_ttl_s: int, batch: int) -> ArchiveReport:
        """Archive up to `batch` jobs that finished at least `archive_age_s` before `now`."""
        with store_errors():
            due: list[str] = self.r.zrangebyscore(  # type: ignore[assignment]
                keys.FINISHED, "-inf", now - archive_age_s, start=0, num=batch
            )
        counts = {"archived": 0, "vanished": 0, "deferred": 0}
        for job_id in due:
            counts[self._archive_one(job_id, archived_ttl_s)] += 1
        return ArchiveReport(**counts)

    def _archive_one(self, job_id: str, archived_ttl_s: int) -> str:
        job_key, res_key, spec_key = keys.job(job_id), keys.results(job_id), keys.specs(job_id)
        with store_errors(), self.r.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(job_key, res_key)  # type: ignore[no-untyped-call]
                if pipe.zscore(keys.FINISHED, job_id) is None:
                    return "deferred"  # an overlapping run has just archived it
                tenant = pipe.hget(job_key, keys.JobField.TENANT)
                if tenant is None:  # expired or deleted before it was archived
                    pipe.multi()
                    pipe.zrem(keys.FINISHED, job_id)
                    pipe.execute()
                    return "vanished"
                try:
                    view = self.store.get(str(tenant), job_id)
                except JobNotFoundError:
                    return "deferred"  # gone between the WATCH and the read: the next run sees it vanished
                self.writer.write(str(tenant), view)
                pipe.multi()
                # Membership in FINISHED is the claim: of two runs that both got this far, the one whose
                # ZREM removed it archived it; the other only wrote the same bytes again.
                pipe.zrem(keys.FINISHED, job_id)
                # Dropped from the tenant's list too: that list would otherwise grow for ever, and
                # GET still finds the job (in S3) once its Redis record has expired.
                pipe.zrem(keys.tenant_jobs(str(tenant)), job_id)
                for key in (job_key, res_key, spec_key):
                    pipe.expire(key, archived_ttl_s, lt=True)  # shorten, never extend
                pipe.delete(keys.secrets(job_id))
                removed = pipe.execute()[0]
            except redis.WatchError:
                return "deferred"
        return "archived" if removed else "deferred"
