"""The fault-and-load suite (`make test-reliability`): real Redis, real workers, real Chromium, loopback only.

Every test here is marked `reliability`; the heavy ones start several processes, so run the suite on
its own (CI: `pytest tests/reliability`). Every load loop is bounded in count and in time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_server import RedisServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: fault-and-load suite (tests/reliability)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may pause, kill and restart (AOF, fsync always)."""
    server = RedisServer().start()
    yield server
    server.cleanup()
