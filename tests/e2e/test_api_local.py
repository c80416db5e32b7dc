"""The job API through the local HTTP adapter (a real `traffic-tool api` process) and a real Redis."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from jobcore import keys, limits
from tests.support.api_process import ApiProcess, client
from tests.support.redis_server import RedisServer

PAGE = "http://127.0.0.1:9/page"
TOO_SLOW = limits.MAX_TIMEOUT_S + 1
TOO_LONG = PAGE + "x" * limits.MAX_URL_LENGTH


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def api(own_redis: RedisServer) -> Iterator[ApiProcess]:
    process = ApiProcess(own_redis.url).start()
    yield process
    process.stop()


@pytest.fixture
def a(api: ApiProcess) -> Iterator[httpx.Client]:
    with client(api, "tenant-a") as c:
        yield c


@pytest.fixture
def b(api: ApiProcess) -> Iterator[httpx.Client]:
    with client(api, "tenant-b") as c:
        yield c


@pytest.fixture
def depth(own_redis: RedisServer) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(own_redis.url, decode_responses=True)
    yield r
    r.close()


def backlog(r: redis.Redis) -> int:
    return int(r.hget(keys.STATS, "backlog") or 0)


def body(n: int = 2, **extra: object) -> dict[str, object]:
    return {"sessions": [{"url": PAGE} for _ in range(n)], **extra}


def test_submit_then_read_back(a: httpx.Client) -> None:
    reply = a.post("/jobs", json=body(2, labels={"suite": "smoke"}))
    assert reply.status_code == 202, reply.text
    accepted = reply.json()
    assert accepted["status"] == "queued" and accepted["sessions"] == 2
    assert reply.headers["location"] == f"/jobs/{accepted['job_id']}"
    view = a.get(f"/jobs/{accepted['job_id']}").json()
    assert view["status"] == "queued"
    assert view["progress"] == {"total": 2, "queued": 2, "running": 0, "ok": 0, "failed": 0, "cancelled": 0}
    assert [s["status"] for s in view["sessions"]] == ["queued", "queued"]
    assert view["labels"] == {"suite": "smoke"}
    listed = a.get("/jobs", params={"limit": 5}).json()
    assert accepted["job_id"] in [j["job_id"] for j in listed["jobs"]]


def test_another_tenant_sees_nothing(a: httpx.Client, b: httpx.Client) -> None:
    job_id = a.post("/jobs", json=body(1)).json()["job_id"]
    assert b.get(f"/jobs/{job_id}").status_code == 404
    assert b.delete(f"/jobs/{job_id}").status_code == 404
    assert job_id not in [j["job_id"] for j in b.get("/jobs").json()["jobs"]]
    assert a.get(f"/jobs/{job_id}").json()["progress"]["queued"] == 1


def test_no_token_is_401_and_a_wrong_token_403(api: ApiProcess) -> None:
    assert httpx.post(f"{api.url}/jobs", json=body(1)).status_code == 401
    assert httpx.get(f"{api.url}/jobs", headers={"Authorization": "Basic abc"}).status_code == 401
    assert httpx.get(f"{api.url}/jobs", headers={"Authorization": "Bearer nope"}).status_code == 403
    health = httpx.get(f"{api.url}/health")  # no auth needed: figures, 200 or 503 by the queue's state
    assert "workers" in health.json(), health.text


@pytest.mark.parametrize(
    ("payload", "status", "names"),
    [
        (b"{not json", 400, "not valid JSON"),
        (json.dumps({"sessions": [{}]}).encode(), 400, "sessions[0].url"),
        (json.dumps({"sessions": [{"url": "ftp://127.0.0.1/"}]}).encode(), 400, "scheme"),
        (json.dumps({"sessions": [{"url": "file:///etc/passwd"}]}).encode(), 400, "scheme"),
        (json.dumps({"sessions": [{"url": "http://169.254.169.254/"}]}).encode(), 400, "metadata"),
        (json.dumps({"sessions": [{"url": "http://2130706433/"}]}).encode(), 400, "non-canonical"),
        (json.dumps({"sessions": [{"url": "http://127.0.0.2/"}]}).encode(), 400, "loopback"),
        (
            json.dumps({"sessions": [{"url": PAGE, "timeout_s": TOO_SLOW}]}).encode(),
            400,
            "sessions[0].timeout_s",
        ),
        (json.dumps({"sessions": [{"url": PAGE, "colour": "red"}]}).encode(), 400, "sessions[0].colour"),
        (json.dumps({"sessions": [{"url": PAGE}], "priority": "urgent"}).encode(), 400, "priority"),
        (json.dumps(body(limits.MAX_SESSIONS_PER_JOB + 1)).encode(), 400, "sessions"),
        (json.dumps({"sessions": [{"url": TOO_LONG}]}).encode(), 400, "sessions[0].url"),
        (b"", 400, "missing"),
        (b"[" * 50_000 + b"]" * 50_000, 400, "nests more than"),  # was a RecursionError: a 502
        (b"x" * (10 * 1024 * 1024), 413, f"at most {limits.MAX_BODY_BYTES} bytes"),
        (b"x" * (10 * 1024 * 1024 + 1), 413, "10 MB limit"),
        (
            json.dumps({"sessions": [{"url": PAGE, "block_urls": ["x" * 500] * 50}] * 20}).encode(),
            413,
            "bytes",
        ),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_nothing_is_queued(
    a: httpx.Client, depth: redis.Redis, payload: bytes, status: int, names: str
) -> None:
    before = backlog(depth)
    reply = a.post("/jobs", content=payload, headers={"Content-Type": "application/json"})
    assert reply.status_code == status, reply.text
    text = reply.json().get("error", reply.json()).get("message", "")
    assert names in text
    assert backlog(depth) == before


def test_twenty_parallel_posts_with_one_key_make_one_job(a: httpx.Client, depth: redis.Redis) -> None:
    before = backlog(depth)

    def post(_: int) -> httpx.Response:
        return a.post("/jobs", json=body(3), headers={"Idempotency-Key": "parallel-1"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(post, range(20)))
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["job_id"] for r in replies}) == 1
    assert backlog(depth) == before + 3
    other = a.post("/jobs", json=body(4), headers={"Idempotency-Key": "parallel-1"})
    assert other.status_code == 422 and other.json()["error"]["type"] == "idempotency_key_reused"


def test_cancel_then_read(a: httpx.Client) -> None:
    job_id = a.post("/jobs", json=body(2)).json()["job_id"]
    reply = a.delete(f"/jobs/{job_id}")
    assert reply.status_code == 200
    assert reply.json()["status"] == "cancelled"
    assert reply.json()["progress"]["cancelled"] == 2
    assert a.get("/jobs/not-a-job-id").status_code == 400  # not an id: refused before any lookup


def test_a_job_survives_a_redis_restart(a: httpx.Client, own_redis: RedisServer) -> None:
    job_id = a.post("/jobs", json=body(2)).json()["job_id"]
    own_redis.restart()  # AOF on, appendfsync always
    for _ in range(50):  # the API's connection pool reconnects on the next request
        reply = a.get(f"/jobs/{job_id}")
        if reply.status_code != 503:
            break
    assert reply.status_code == 200
    assert reply.json()["progress"]["queued"] == 2


def test_health_reports_the_backlog(api: ApiProcess, depth: redis.Redis) -> None:
    reply = httpx.get(f"{api.url}/health")
    data = reply.json()
    assert data["queue_depth"] == backlog(depth)
    # work waits and no worker is alive: not ready
    assert reply.status_code == (503 if data["queue_depth"] > 0 else 200)
    assert "token" not in reply.text.lower()


def test_a_body_of_another_type_is_415_with_the_documented_error_shape(a: httpx.Client) -> None:
    reply = a.post("/jobs", content=json.dumps(body(1)), headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415
    assert reply.json() == {
        "error": {
            "type": "unsupported_media_type",
            "message": "the request body must be application/json, not text/plain",
            "field": "Content-Type",
        }
    }


def raw_post(api: ApiProcess, head: str, payload: bytes = b"") -> tuple[int, bytes]:
    """POST /jobs with hand-written headers on a socket left open: the server must answer unprompted."""
    request = f"POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-a\r\n{head}\r\n".encode()
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        sock.sendall(request + payload)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.partition(b"\r\n\r\n")[2]) < _length(reply):
            chunk = sock.recv(65536)  # a server reading until the client closes: a timeout here
            if not chunk:
                break
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.partition(b"\r\n\r\n")[2]


def _length(reply: bytes) -> int:
    match = re.search(rb"(?i)\r\ncontent-length: *([0-9]+)", reply)
    return int(match[1]) if match else 0


def chunked(data: bytes, size: int = 7) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_the_adapter_never_reads_a_body_without_a_valid_length(api: ApiProcess, depth: redis.Redis) -> None:
    before = backlog(depth)
    job = json.dumps(body(1)).encode()
    # a negative or malformed length: refused at once (`rfile.read(-1)` read until the client closed)
    for length in ("-1", "abc", "1, 2"):
        status, reply = raw_post(api, f"Content-Length: {length}\r\nContent-Type: application/json\r\n", job)
        assert status == 400, (length, reply)
    # no length: only a chunked body, capped by the size its chunks declare before they are read
    status, reply = raw_post(api, "Transfer-Encoding: chunked\r\n", b"%x\r\n" % (11 * 1024 * 1024) + b"x")
    assert status == 413 and b"10 MB limit" in reply
    assert raw_post(api, "Transfer-Encoding: chunked\r\n", b"zz\r\n")[0] == 400
    assert raw_post(api, "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", b"abc")[0] == 400
    assert backlog(depth) == before
    status, reply = raw_post(
        api, "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n", chunked(job)
    )
    assert status == 202, reply  # a chunked body within the limits is read whole
    assert backlog(depth) == before + 1
