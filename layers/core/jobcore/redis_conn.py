"""Redis connections and the translation of Redis failures into domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from jobcore.errors import StoreUnavailableError
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


def _auth_token(secret_name: str) -> str:
    """The ElastiCache AUTH token, read through Powertools Parameters (cached)."""
    import json

    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(secret_name, max_age=300)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return str(json.loads(text)["token"]) if text.lstrip().startswith("{") else text


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn connection loss, timeouts and out-of-memory refusals into StoreUnavailableError."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailableError(f"the job store (Redis) is unreachable: {exc}") from exc
    except redis.ResponseError as exc:
        text = str(exc)
        if text.startswith(("OOM", "READONLY", "MASTERDOWN", "LOADING", "BUSY")):
            raise StoreUnavailableError(f"the job store (Redis) refused the write: {text}") from exc
        raise
