"""Where a session's objects go (screenshots, artifacts): a small interface, and its S3 implementation.

Keys live under the tenant's prefix (`jobcore.s3_layout`), so a bucket policy can scope
readers to one tenant. The result carries `s3://bucket/key`; the API presigns it when a
client reads the job, so no short-lived signature is frozen into stored results.

Without a bucket configured (`TRAFFIC_TOOL_BUCKET` empty) there is no store:
a session that asks for a screenshot or artifacts still runs, and their links
stay null (the worker logs this once at start).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from jobcore.s3_layout import ARTIFACT_FILES, artifact_key, screenshot_key
from jobcore.settings import Settings


class ScreenshotStore(Protocol):
    async def put(self, tenant: str, job_id: str, index: int, attempt: int, png: bytes) -> str:
        """Store the PNG; return what the result carries (a key URL)."""
        ...

    async def put_artifact(self, tenant: str, job_id: str, index: int, name: str, body: bytes) -> str:
        """Store one artifact of a session (`s3_layout.ARTIFACT_FILES` names them); return its key URL."""
        ...


class S3ScreenshotStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        import boto3

        self.bucket = bucket
        # The endpoint comes from AWS_ENDPOINT_URL(_S3) when set (moto in tests, the local stack).
        self.client = client if client is not None else boto3.client("s3")

    def key(self, tenant: str, job_id: str, index: int, attempt: int) -> str:
        return screenshot_key(tenant, job_id, index, attempt)

    async def _put(self, key: str, body: bytes, content_type: str) -> str:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
        )
        return f"s3://{self.bucket}/{key}"

    async def put(self, tenant: str, job_id: str, index: int, attempt: int, png: bytes) -> str:
        return await self._put(self.key(tenant, job_id, index, attempt), png, "image/png")

    async def put_artifact(self, tenant: str, job_id: str, index: int, name: str, body: bytes) -> str:
        key = artifact_key(tenant, job_id, index, name)
        return await self._put(key, body, ARTIFACT_FILES[name][1])


def screenshot_store(settings: Settings) -> ScreenshotStore | None:
    return S3ScreenshotStore(settings.bucket) if settings.bucket else None
