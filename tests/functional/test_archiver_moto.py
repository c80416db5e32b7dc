"""The archiver against a real Redis and a moto bucket: finished jobs → gzip JSON under
archive/<tenant>/<YYYY/MM/DD>/<job>.json.gz; GET /jobs/{id} reads them back once Redis has forgotten them."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis

import api_handler
import archiver_handler
from jobcore import cold_start, keys
from jobcore.archive import Archiver, ArchiveReport, S3ArchiveStore
from jobcore.constants import JobStatus, SessionStatus
from jobcore.errors import ErrorType, JobNotFoundError
from jobcore.jobs import JobService
from jobcore.models import ErrorInfo, JobRequest, SessionResult
from jobcore.queue import JobQueue
from jobcore.s3_layout import archive_key
from jobcore.settings import Settings
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
BUCKET = "traffic-tool-results"
URL_PASSWORD = "url-pw-3f9a"
PROXY_PASSWORD = "proxy-pw-77c1"
HOUR = 3600


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def secret_request(sessions: int = 2) -> JobRequest:
    """Sessions that carry both kinds of secret: a user:pass@ URL and a proxy password."""
    proxy = {"server": "http://127.0.0.1:3128", "username": "proxy-user", "password": PROXY_PASSWORD}
    return JobRequest.model_validate(
        {
            "sessions": [
                {"url": f"http://alice:{URL_PASSWORD}@127.0.0.1:9/page/{i}", "proxy": proxy}
                for i in range(sessions)
            ],
            "labels": {"suite": "archive"},
        }
    )


def run_job(queue: JobQueue, tenant: str, sessions: int = 2) -> str:
    """Submit a job and let a (careless) worker finish it: one ok, the rest failed, with the spec's
    user:pass@ URL copied into the result as it came from the lease."""
    job_id = queue.enqueue(tenant, secret_request(sessions))
    for lease in queue.claim("worker-1", sessions):
        assert lease.job_id == job_id
        if lease.index == 0:
            result = SessionResult(
                index=0,
                url=lease.spec.url,
                status=SessionStatus.OK,
                http_status=200,
                final_url=lease.spec.url,
            )
        else:
            result = SessionResult(
                index=lease.index,
                url=lease.spec.url,
                status=SessionStatus.FAILED,
                error=ErrorInfo(
                    type=ErrorType.PROXY_AUTH_FAILED,
                    message=f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:3128 answered 407",
                ),
            )
        assert queue.complete(lease, result)
    return job_id


def masked(text: str) -> str:
    """What the archive holds where Redis held a secret (only a careless worker puts one there)."""
    return text.replace(URL_PASSWORD, "***").replace(PROXY_PASSWORD, "***")


def forget_in_redis(r: redis.Redis, job_id: str) -> None:
    """What the TTL does once the archived record's time is up."""
    r.delete(*keys.job_keys(job_id))


def test_a_finished_job_is_archived_as_gzip_json_and_read_back_after_redis_forgets_it(
    s3: Any, r: redis.Redis, settings: Settings
) -> None:
    # Given a finished job whose sessions carried a URL password and a proxy password
    store = S3ArchiveStore(BUCKET, client=s3)
    service = JobService(r, settings, archive=store)
    job_id = run_job(service.queue, "tenant-a")
    before = service.get("tenant-a", job_id)
    assert before.status == JobStatus.COMPLETED and before.finished_at is not None
    archiver = Archiver(r, store)
    finished_at = r.zscore(keys.FINISHED, job_id)
    assert finished_at is not None

    # When the archiver runs before the job is old enough: nothing is written, nothing changes
    assert archiver.archive_due(finished_at + HOUR - 1, HOUR, 60, 10) == ArchiveReport()
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0

    # When it runs once the job is past the archive age
    report = archiver.archive_due(finished_at + HOUR, HOUR, 60, 10)

    # Then one gzip JSON object lies under archive/<tenant>/<date>/<id>.json.gz: the job and its tenant
    assert report == ArchiveReport(archived=1)
    created = time.strftime("%Y/%m/%d", time.gmtime(int(job_id[:12], 16) / 1000))
    key = f"archive/tenant-a/{created}/{job_id}.json.gz"
    assert key == archive_key("tenant-a", job_id)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    raw = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert raw[:2] == b"\x1f\x8b"
    text = gzip.decompress(raw).decode()
    document = json.loads(text)
    assert document["tenant"] == "tenant-a" and document["job_id"] == job_id
    assert document["status"] == "completed" and len(document["sessions"]) == 2
    # and no secret, though the worker copied the user:pass@ URLs into its results
    assert URL_PASSWORD not in text and PROXY_PASSWORD not in text
    assert f"alice:{URL_PASSWORD}" not in text and "alice:***@" in text

    # and only then does Redis let go: off the archiver's list, TTL shortened, no secrets left
    assert r.zscore(keys.FINISHED, job_id) is None
    assert 0 < r.ttl(keys.job(job_id)) <= 60 and 0 < r.ttl(keys.results(job_id)) <= 60
    assert not r.exists(keys.secrets(job_id))

    # When Redis has forgotten the job
    forget_in_redis(r, job_id)

    # Then its tenant still gets the same job (masked the same way), and another tenant still gets 404
    after = service.get("tenant-a", job_id)
    assert json.loads(after.model_dump_json()) == json.loads(masked(before.model_dump_json()))
    with pytest.raises(JobNotFoundError):
        service.get("tenant-b", job_id)

    # and a re-run has nothing left to do
    assert archiver.archive_due(finished_at + 2 * HOUR, HOUR, 60, 10) == ArchiveReport()


def test_a_re_run_after_a_crash_writes_the_same_object_and_a_vanished_record_is_dropped(
    s3: Any, r: redis.Redis, settings: Settings
) -> None:
    # Given a job archived once, then put back on the list as if the run had died before its ZREM
    store = S3ArchiveStore(BUCKET, client=s3)
    queue = JobQueue(r, settings)
    job_id = run_job(queue, "tenant-a", sessions=1)
    archiver = Archiver(r, store)
    assert archiver.archive_due(time.time() + HOUR, HOUR, 600, 10).archived == 1
    first = s3.get_object(Bucket=BUCKET, Key=archive_key("tenant-a", job_id))
    r.zadd(keys.FINISHED, {job_id: time.time()})
    # and a listed job whose record expired before anyone archived it
    lost = run_job(queue, "tenant-a", sessions=1)
    forget_in_redis(r, lost)
    now = time.time() + HOUR

    # When the archiver runs again
    report = archiver.archive_due(now, HOUR, 600, 10)

    # Then the same bytes are written again (one object), and the lost job leaves the list as vanished
    assert report == ArchiveReport(archived=1, vanished=1)
    again = s3.get_object(Bucket=BUCKET, Key=archive_key("tenant-a", job_id))
    assert again["ETag"] == first["ETag"]
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    assert r.zcard(keys.FINISHED) == 0
    assert 0 < r.ttl(keys.job(job_id)) <= 600  # a later, longer archived TTL never extends it


def test_two_overlapping_archiver_runs_archive_each_job_once(
    s3: Any, r: redis.Redis, redis_server: RedisServer, settings: Settings
) -> None:
    # Given 30 finished jobs and two archivers with their own connections, as two invocations have
    queue = JobQueue(r, settings)
    job_ids = {run_job(queue, f"tenant-{i % 3}", sessions=1) for i in range(30)}
    runs = [
        Archiver(redis.Redis.from_url(redis_server.url, decode_responses=True), S3ArchiveStore(BUCKET, s3))
    ]
    runs.append(
        Archiver(redis.Redis.from_url(redis_server.url, decode_responses=True), S3ArchiveStore(BUCKET, s3))
    )
    now = time.time() + HOUR
    start = threading.Barrier(2)
    reports: list[ArchiveReport] = []

    def archive(archiver: Archiver) -> None:
        start.wait()
        reports.append(archiver.archive_due(now, HOUR, 600, 100))

    # When both run at once
    threads = [threading.Thread(target=archive, args=(a,)) for a in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then every job was archived exactly once, and each has its object
    assert sum(rep.archived for rep in reports) == 30
    assert sum(rep.vanished for rep in reports) == 0
    assert r.zcard(keys.FINISHED) == 0
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="archive/")
    assert {o["Key"].rsplit("/", 1)[1].removesuffix(".json.gz") for o in listed["Contents"]} == job_ids
    for a in runs:
        a.r.close()


# ---- the Lambda handlers, driven with the sample events ---------------------------------------------


@pytest.fixture
def env(s3: Any, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_ALLOW_TARGETS", "127.0.0.1/32")
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS", "tenant-a=tok-a,tenant-b=tok-b")
    monkeypatch.setenv("TRAFFIC_TOOL_BUCKET", BUCKET)
    monkeypatch.setenv("TRAFFIC_TOOL_ARCHIVE_AGE_S", "0")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    cold_start.reset()
    yield
    cold_start.reset()


def get_job(job_id: str, tenant: str = "tenant-a") -> tuple[int, dict[str, Any]]:
    evt = json.loads((EVENTS / "get_job.json").read_text())
    evt["pathParameters"] = {"job_id": job_id}
    evt["path"] = f"/jobs/{job_id}"
    evt["requestContext"]["authorizer"] = {"tenant": tenant, "principalId": tenant}
    reply = api_handler.lambda_handler(evt, LocalContext(function_name="ApiFunction"))
    return reply["statusCode"], json.loads(reply["body"])


@pytest.mark.usefixtures("env")
def test_the_api_returns_the_same_job_from_the_archive_once_redis_has_forgotten_it(
    s3: Any, r: redis.Redis, settings: Settings
) -> None:
    # Given a finished job, as the API shows it while Redis still has it
    job_id = run_job(JobQueue(r, settings), "tenant-a")
    status, before = get_job(job_id)
    assert status == 200 and before["status"] == "completed"

    # When the archiver function runs with the sample event, and later Redis forgets the job
    event = json.loads((EVENTS / "archiver.json").read_text())
    reply = archiver_handler.lambda_handler(
        event, LocalContext(function_name="ArchiverFunction", timeout_s=900)
    )
    assert reply == {"archived": 1, "vanished": 0, "deferred": 0}
    forget_in_redis(r, job_id)

    # Then GET /jobs/{id} answers from S3 with the same job (secrets masked the same way)
    status, after = get_job(job_id)
    assert status == 200
    assert after == json.loads(masked(json.dumps(before)))
    assert URL_PASSWORD not in json.dumps(after) and PROXY_PASSWORD not in json.dumps(after)
    # and another tenant still gets 404, and an id never archived too
    assert get_job(job_id, tenant="tenant-b")[0] == 404
    assert get_job("0" * 32)[0] == 404
