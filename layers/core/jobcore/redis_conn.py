"""Redis connections and the translation of Redis failures into domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobcore.errors import StoreOutOfMemoryError, StoreUnavailableError
from jobcore.settings import Settings


def connect(settings: Settings) -> redis.Redis:
    password = _auth_token(settings.redis_auth_secret_name) if settings.redis_auth_secret_name else None
    return redis.Redis.from_url(
        settings.redis_url,
        password=password,
        decode_responses=True,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=min(settings.redis_socket_timeout_s, 2.0),
        health_check_interval=30,
    )


PROBE_TIMEOUT_S = 0.5  # per connect and per reply: /health answers within 2 s even when Redis is gone


def connect_probe(settings: Settings) -> redis.Redis:
    """A connection for health probes: short timeouts and no retry, where the job plane's
    connection waits and retries with backoff (redis-py's default would keep /health busy for seconds)."""
    password = _auth_token(settings.redis_auth_secret_name) if settings.redis_auth_secret_name else None
    timeout = min(settings.redis_socket_timeout_s, PROBE_TIMEOUT_S)
    return redis.Redis.from_url(
        settings.redis_url,
        password=password,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _auth_token(secret_name: str) -> str:
    """The ElastiCache AUTH token, read through Powertools Parameters (cached)."""
    import json

    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_name, max_age=300)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return str(json.loads(text)["token"]) if text.lstrip().startswith("{") else text


def as_store_error(exc: BaseException) -> StoreUnavailableError | None:
    """The domain error for a Redis failure a caller can only wait out; None for anything else."""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return StoreUnavailableError(f"the job store (Redis) is unreachable: {exc}")
    if isinstance(exc, redis.ResponseError):
        text = str(exc)
        # redis-py ≥ 5 raises OutOfMemoryError and drops the reply's "OOM" prefix; older ones keep it
        if isinstance(exc, redis.exceptions.OutOfMemoryError) or text.startswith("OOM"):
            # noeviction at work: Redis keeps every job and refuses the new write instead
            return StoreOutOfMemoryError(f"the job store (Redis) is out of memory; write refused: {text}")
        if text.startswith(("READONLY", "MASTERDOWN", "LOADING", "BUSY")):
            return StoreUnavailableError(f"the job store (Redis) refused the write: {text}")
    return None


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn connection loss, timeouts and out-of-memory refusals into StoreUnavailableError."""
    try:
        yield
    except redis.RedisError as exc:
        mapped = as_store_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
