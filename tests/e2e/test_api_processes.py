"""`traffic-tool api --processes N`: one port served by N processes (separate execution environments,
as Lambda runs concurrent requests), sharing nothing but Redis; they leave together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from tests.support.api_process import TOKENS, ApiProcess
from tests.support.redis_server import RedisServer


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


def listeners(pid: int, port: int) -> bool:
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr.port == port
        for c in psutil.Process(pid).net_connections(kind="tcp")
    )


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def test_each_process_listens_and_idempotency_holds_across_them(own_redis: RedisServer) -> None:
    api = ApiProcess(own_redis.url, processes=3).start()
    assert api.proc is not None
    try:
        children = [c.pid for c in psutil.Process(api.proc.pid).children()]
        assert len(children) == 2
        assert all(listeners(pid, api.port) for pid in [api.proc.pid, *children])

        body = {"sessions": [{"url": "http://127.0.0.1:9/p"}]}
        headers = {"Authorization": f"Bearer {TOKENS['tenant-a']}", "Idempotency-Key": "across-processes"}

        def post(_: int) -> httpx.Response:  # a new connection each: the kernel spreads them out
            return httpx.post(f"{api.url}/jobs", json=body, headers=headers, timeout=30)

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(post, range(20)))
        # a duplicate that arrives while the first is in flight in another process waits for its answer
        assert {r.status_code for r in replies} == {202}, [r.text for r in replies if r.status_code != 202]
        accepted = {r.json()["job_id"] for r in replies}
        assert len(accepted) == 1, accepted
        listed = httpx.get(f"{api.url}/jobs", headers=headers, timeout=30).json()["jobs"]
        assert [j["job_id"] for j in listed] == list(accepted)
    finally:
        api.stop()
    assert wait_gone(children, 5) == [], "children outlived a SIGTERM to the parent"


def test_children_leave_when_the_parent_is_killed(own_redis: RedisServer) -> None:
    api = ApiProcess(own_redis.url, processes=2).start()
    assert api.proc is not None
    children = [c.pid for c in psutil.Process(api.proc.pid).children()]
    assert len(children) == 1
    api.proc.send_signal(signal.SIGKILL)
    api.proc.wait(10)
    assert wait_gone(children, 5) == [], "a child outlived its killed parent"


def test_a_port_in_use_is_an_error_not_a_shared_port(own_redis: RedisServer) -> None:
    api = ApiProcess(own_redis.url).start()
    try:
        cmd = [sys.executable, "-m", "traffic_tool.main", "api", "--port", str(api.port)]
        cmd += ["--processes", "2", "--redis-url", own_redis.url, "--tokens", "t=x"]
        second = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    finally:
        api.stop()
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{api.port}" in second.stderr
