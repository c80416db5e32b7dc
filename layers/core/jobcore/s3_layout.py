"""Object keys in the results bucket, in one place (the template's IAM grants follow these prefixes)."""

from __future__ import annotations

import time
from typing import Final

from jobcore import keys

ARCHIVE_PREFIX: Final = "archive/"
SCREENSHOT_PREFIX: Final = "screenshots/"
ARTIFACT_PREFIX: Final = "artifacts/"


def job_date(job_id: str) -> str:
    """YYYY/MM/DD of the job's creation, read from its time-ordered id."""
    created = int(job_id[:12], 16) / 1000
    return time.strftime("%Y/%m/%d", time.gmtime(created))


def archive_key(tenant: str, job_id: str) -> str:
    return f"{ARCHIVE_PREFIX}{keys.check_tenant(tenant)}/{job_date(job_id)}/{job_id}.json.gz"


def screenshot_key(tenant: str, job_id: str, index: int, attempt: int) -> str:
    return f"{SCREENSHOT_PREFIX}{keys.check_tenant(tenant)}/{job_date(job_id)}/{job_id}/{index}-{attempt}.png"


# Each artifact's object name and type, in one place (the worker writes, the API and CLI read).
ARTIFACT_FILES: Final = {
    "screenshot": ("screenshot.png", "image/png"),
    "har": ("session.har", "application/json"),
    "trace": ("trace.zip", "application/zip"),
    "console": ("console.json", "application/json"),
    "dom": ("dom.html", "text/plain; charset=utf-8"),  # text/plain: a stored page never renders as ours
}


def artifact_key(tenant: str, job_id: str, index: int, name: str) -> str:
    filename = ARTIFACT_FILES[name][0]
    return f"{ARTIFACT_PREFIX}{keys.check_tenant(tenant)}/{job_id}/{index}/{filename}"
