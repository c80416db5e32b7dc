"""Where screenshots go: a small interface, and its S3 implementation.

Keys live under the tenant's prefix (`jobcore.s3_layout.screenshot_key`), so a bucket
policy can scope readers to one tenant. The result carries `s3://bucket/key`; the API
presigns it when a client reads the job, so no short-lived signature is frozen into stored results.

Without a bucket configured (`TRAFFIC_TOOL_BUCKET` empty) there is no store:
a session that asks for a screenshot still runs, and its `screenshot_url`
stays null (the worker logs this once at start).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from jobcore.s3_layout import screenshot_key
from jobcore.settings import Settings


class ScreenshotStore(Protocol):
    async def put(self, tenant: str, job_id: str, index: int, attempt: int, png: bytes) -> str:
        """Store the PNG; return what the result carries (a key URL)."""
        ...


class S3ScreenshotStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        import boto3

        self.bucket = bucket
        # The endpoint comes from AWS_ENDPOINT_URL(_S3) when set (moto in tests, the local stack).
        self.client = client if client is not None else boto3.client("s3")

    def key(self, tenant: str, job_id: str, index: int, attempt: int) -> str:
        return screenshot_key(tenant, job_id, index, attempt)

    async def put(self, tenant: str, job_id: str, index: int, attempt: int, png: bytes) -> str:
        key = self.key(tenant, job_id, index, attempt)
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=png, ContentType="image/png"
        )
        return f"s3://{self.bucket}/{key}"


def screenshot_store(settings: Settings) -> ScreenshotStore | None:
    return S3ScreenshotStore(settings.bucket) if settings.bucket else None
