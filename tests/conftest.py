from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from jobcore.queue import JobQueue
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from jobcore.store import JobStore
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer

pytest_plugins = ("tests.support.tls_fixtures",)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureSite]:
    """The tests' site on 127.0.0.1 (the sample pages, the fixture pages, the test-only routes)."""
    server = FixtureSite().start()
    yield server
    server.stop()


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    return Settings(redis_url=redis_server.url, allow_targets="127.0.0.1/32", lease_s=2)


@pytest.fixture
def r(redis_server: RedisServer, settings: Settings) -> Iterator[redis.Redis]:
    client = connect(settings)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def queue(r: redis.Redis, settings: Settings) -> JobQueue:
    return JobQueue(r, settings)


@pytest.fixture
def store(r: redis.Redis) -> JobStore:
    return JobStore(r)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process AWS, with credentials that reach nothing else and no endpoint override."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield
