"""Submit rules against a real Redis: guard before queueing, idempotency with Stripe's semantics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from jobcore import keys
from jobcore.errors import IdempotencyConflictError, JobNotFoundError, QueueFullError, TargetBlockedError
from jobcore.jobs import JobService
from jobcore.models import JobRequest
from jobcore.settings import Settings


def request(url: str = "http://127.0.0.1:9/", n: int = 1, password: str | None = None) -> JobRequest:
    spec: dict[str, object] = {"url": url}
    if password is not None:
        spec["proxy"] = {"server": "http://127.0.0.1:3128", "username": "u", "password": password}
    return JobRequest.model_validate({"sessions": [spec] * n})


@pytest.fixture
def service(r: redis.Redis, settings: Settings) -> JobService:
    return JobService(r, settings)


def queued(r: redis.Redis) -> int:
    return int(r.hget(keys.STATS, "backlog") or 0)


def test_a_refused_target_queues_nothing(service: JobService, r: redis.Redis) -> None:
    body = JobRequest.model_validate(
        {"sessions": [{"url": "http://127.0.0.1:9/"}, {"url": "http://10.0.0.1/"}]}
    )
    with pytest.raises(TargetBlockedError, match=r"sessions\[1\]\.url: 10\.0\.0\.1 is a private address"):
        service.submit("t", body)
    assert queued(r) == 0


def test_the_proxy_address_is_guarded_too(service: JobService) -> None:
    body = JobRequest.model_validate(
        {"sessions": [{"url": "http://127.0.0.1:9/", "proxy": {"server": "http://169.254.169.254:80"}}]}
    )
    with pytest.raises(TargetBlockedError, match=r"proxy\.server.*metadata"):
        service.submit("t", body)


def test_twenty_parallel_submits_with_one_key_make_one_job(service: JobService, r: redis.Redis) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: service.submit("t", request(n=3), "key-1"), range(20)))
    assert len({reply.job_id for reply in replies}) == 1
    assert queued(r) == 3


def test_the_same_key_with_another_body_is_refused(service: JobService, r: redis.Redis) -> None:
    first = service.submit("t", request(), "key-2")
    with pytest.raises(IdempotencyConflictError):
        service.submit("t", request(url="http://127.0.0.1:9/other"), "key-2")
    service.submit("t", request(password="a"), "key-3")
    with pytest.raises(IdempotencyConflictError):  # a different secret is a different body too
        service.submit("t", request(password="b"), "key-3")
    assert service.submit("t", request(), "key-2").job_id == first.job_id


def test_keys_are_scoped_per_tenant(service: JobService) -> None:
    a = service.submit("tenant-a", request(), "shared-key")
    b = service.submit("tenant-b", request(), "shared-key")
    assert a.job_id != b.job_id


def test_a_failed_submit_does_not_burn_the_key(
    service: JobService, r: redis.Redis, settings: Settings
) -> None:
    tight = JobService(r, settings.model_copy(update={"max_backlog": 1}))
    with pytest.raises(QueueFullError, match="queue is full"):
        tight.submit("t", request(n=2), "key-4")
    assert tight.submit("t", request(n=1), "key-4").sessions == 1


def test_idempotency_records_live_under_the_hash_tag(service: JobService, r: redis.Redis) -> None:
    service.submit("t", request(), "key-5")
    idem = [k for k in r.scan_iter(match="*idem*")]
    assert idem and all(str(k).startswith(keys.IDEMPOTENCY_PREFIX) for k in idem)
    assert 0 < r.ttl(idem[0]) <= 24 * 3600


def test_stored_specs_hold_no_secrets(service: JobService, r: redis.Redis) -> None:
    reply = service.submit(
        "t", request(url="http://user:canary-url-pw@127.0.0.1:9/", password="canary-proxy-pw")
    )
    stored = " ".join(r.hvals(keys.specs(reply.job_id))) + " ".join(
        str(v) for v in r.hvals(keys.job(reply.job_id))
    )
    assert "canary" not in stored
    view = service.get("t", reply.job_id)
    assert "canary" not in view.model_dump_json()
    assert view.sessions[0].url == "http://user:***@127.0.0.1:9/"


class CountingRedis(redis.Redis):
    """A real client that counts its round trips to Redis: one per command, one per pipeline."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> redis.client.Pipeline:
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def counted(raise_on_error: bool = True) -> list[Any]:
            self.round_trips += 1
            return execute(raise_on_error)

        pipe.execute = counted  # type: ignore[method-assign]
        return pipe


def test_a_cancel_is_one_cancel_and_one_read(settings: Settings, r: redis.Redis) -> None:
    client = CountingRedis.from_url(settings.redis_url, decode_responses=True)
    service = JobService(client, settings)
    warm = service.submit("t", request()).job_id
    service.cancel("t", warm)  # the first call of a script loads it: not counted below
    job_id = service.submit("t", request(n=3)).job_id
    client.round_trips = 0
    view = service.cancel("t", job_id)
    assert view.progress.cancelled == 3 and view.status == "cancelled"
    assert client.round_trips == 2
    client.round_trips = 0
    with pytest.raises(JobNotFoundError):
        service.cancel("other-tenant", job_id)
    assert client.round_trips == 2  # the cancel refuses, the read answers 404
    assert service.get("t", job_id).progress.cancelled == 3
    client.close()
