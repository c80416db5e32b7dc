"""Redis trouble: down for 5 s, out of memory under noeviction, and the eviction-policy check.

Redis down for 5 s: the API answers 503 (never 202 for a job it did not store), every 202 is still
there afterwards, /health says 503 meanwhile, workers reconnect within 10 s of Redis coming back,
and sessions in flight keep running and end once, on their first attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis

from jobcore.redis_conn import connect
from jobcore.settings import Settings
from tests.support.api_process import ApiProcess, client
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from traffic_tool.local.worker_fleet import loopback_fleet
from traffic_tool.local.worker_launcher import loopback_worker
from worker.main import check_eviction_policy

pytestmark = [pytest.mark.timeout(180)]

DOWN_S = 5.0
RECONNECT_WITHIN_S = 10.0


@pytest.mark.browser
def test_redis_down_for_5_s(own_redis: RedisServer, site: FixtureSite, tmp_path: Path) -> None:
    api = ApiProcess(own_redis.url).start()
    # leases longer than the outage: renewals fail while Redis is down, and no session may be lost for it
    fleet = loopback_fleet(own_redis.url, tmp_path, 2, sessions_per_worker=3, lease_s=20, heartbeat_s=0.5)
    answers: list[tuple[float, int | str, str | None]] = []  # (time, status, job id)
    health: Counter[int | str] = Counter()
    stop = threading.Event()

    def submit_forever() -> None:  # bounded: stops with the test, at most 4 a second
        with client(api) as c:
            n = 0
            while not stop.wait(0.25) and n < 400:
                n += 1
                body = {"sessions": [{"url": site.url(f"/light.html?outage={n}")}]}
                try:
                    reply = c.post("/jobs", json=body, timeout=15)
                except httpx.TransportError as exc:
                    answers.append((time.monotonic(), type(exc).__name__, None))
                    continue
                job = reply.json().get("job_id") if reply.status_code == 202 else None
                answers.append((time.monotonic(), reply.status_code, job))

    try:
        with client(api) as c:
            # sessions in flight across the outage: some end during it (their result waits), some after
            slow = [
                {"url": site.url(f"/slow?s={s}&k={i}"), "timeout_s": 30} for i, s in enumerate((4, 4, 9, 9))
            ]
            inflight = c.post("/jobs", json={"sessions": slow}).json()["job_id"]
            wait_until(lambda: c.get(f"/jobs/{inflight}").json()["progress"]["running"] == 4, 30,
                       what="the slow sessions to start")  # fmt: skip
            submitter = threading.Thread(target=submit_forever, daemon=True)
            submitter.start()
            time.sleep(1.0)
            down_at = time.monotonic()
            assert own_redis.proc is not None
            own_redis.proc.kill()
            own_redis.proc.wait(10)
            own_redis.proc = None
            while time.monotonic() - down_at < DOWN_S:
                health[httpx.get(f"{api.url}/health", timeout=5).status_code] += 1
                time.sleep(0.5)
            own_redis.start()  # same port and data directory: the AOF brings everything back
            up_at = time.monotonic()
            # a job submitted now is claimed once some worker's claim loop has reconnected
            after = c.post("/jobs", json={"sessions": [{"url": site.url("/light.html?after-outage")}]})
            assert after.status_code == 202, after.text
            after_id = after.json()["job_id"]
            wait_until(lambda: c.get(f"/jobs/{after_id}").json()["status"] != "queued", RECONNECT_WITHIN_S,
                       interval=0.1, what="a claim within 10 s of Redis returning")  # fmt: skip
            claimed_after = time.monotonic() - up_at
            stop.set()
            submitter.join(20)
            wait_until(lambda: c.get(f"/jobs/{inflight}").json()["status"] == "completed", 60,
                       what="the in-flight sessions to end")  # fmt: skip
            # A worker with free slots failed its claims during the outage and backs off (at most 4 s a
            # step): its next claim logs the return. Stopping the fleet before it would hide it.
            wait_until(lambda: "claiming resumed after" in fleet.all_logs(), RECONNECT_WITHIN_S,
                       what="a claim loop that backed off to come back")  # fmt: skip
            accepted = [job for _, status, job in answers if status == 202 and job]
            missing = [job for job in accepted if c.get(f"/jobs/{job}").status_code != 200]
            view = c.get(f"/jobs/{inflight}").json()
    finally:
        stop.set()
        fleet.shutdown()
        api.stop()

    during = Counter(status for t, status, _ in answers if down_at + 0.5 < t < up_at)
    overall = Counter(status for _, status, _ in answers)
    resumed = fleet.all_logs().count("claiming resumed after")
    print(f"\nredis down {DOWN_S:.0f} s: submit answers during the outage {dict(during)}, "
          f"overall {dict(overall)}; "
          f"/health during {dict(health)}; 202s {len(accepted)}, lost {len(missing)}; claim after restart in "
          f"{claimed_after:.1f} s; claim loops resumed {resumed}; in-flight sessions "
          f"{[(s['status'], s['attempts']) for s in view['sessions']]}")  # fmt: skip
    assert during and set(during) <= {503}, during  # nothing but 503 while Redis is down
    assert not any(isinstance(s, int) and s >= 500 and s != 503 for s in overall)
    assert missing == []  # no 202 lost
    assert set(health) == {503}
    assert claimed_after <= RECONNECT_WITHIN_S
    assert resumed >= 1  # the claim loops backed off and came back (logged by each worker)
    assert [(s["status"], s["attempts"]) for s in view["sessions"]] == [("ok", 1)] * 4  # none killed
    assert "lease lost" not in fleet.all_logs()


def test_out_of_memory_refuses_submits_clearly_and_evicts_nothing(own_redis: RedisServer) -> None:
    api = ApiProcess(own_redis.url).start()
    admin = redis.Redis(port=own_redis.port, decode_responses=True)
    body = {"sessions": [{"url": "http://127.0.0.1:9/oom-test"}]}
    try:
        with client(api) as c:
            before = [c.post("/jobs", json=body).json()["job_id"] for _ in range(5)]
            keys_before = admin.dbsize()
            used = int(admin.info("memory")["used_memory"])
            admin.config_set("maxmemory", used // 2)  # full: every new write is refused (noeviction)
            refused = [
                c.post("/jobs", json=body),
                c.post("/jobs", json=body, headers={"Idempotency-Key": "k1"}),
            ]
            # reads go through MULTI, which Redis refuses when full: 200 or 503, never another 5xx
            reads_full = [c.get(f"/jobs/{job}").status_code for job in before]
            evicted = int(admin.info("stats")["evicted_keys"])
            keys_full = admin.dbsize()
            admin.config_set("maxmemory", 0)
            readable = [c.get(f"/jobs/{job}").status_code for job in before]
            again = c.post("/jobs", json=body)
    finally:
        admin.close()
        api.stop()
    print(f"\nout of memory: {[(x.status_code, x.json()['error']['message']) for x in refused]}")
    for reply in refused:
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"]["type"] == "store_out_of_memory"
        assert "out of memory" in reply.json()["error"]["message"]
        assert reply.headers["Retry-After"]
    assert set(reads_full) <= {200, 503}
    assert readable == [200] * 5
    assert evicted == 0 and keys_full == keys_before  # nothing evicted, nothing half-written
    assert again.status_code == 202  # memory back: submits work again


def test_worker_warns_loudly_unless_noeviction(own_redis: RedisServer, tmp_path: Path) -> None:
    admin = redis.Redis(port=own_redis.port, decode_responses=True)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    worker = loopback_worker(own_redis.url, tmp_path / "worker.log")
    try:
        worker.wait_log("serving", timeout=60)
    finally:
        worker.stop()
        admin.config_set("maxmemory-policy", "noeviction")
        admin.close()
    assert "maxmemory-policy is 'allkeys-lru', not 'noeviction'" in worker.log()


def test_eviction_policy_check_is_quiet_where_config_is_forbidden(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(redis_url=own_redis.url)
    ok = connect(settings)
    assert check_eviction_policy(ok) == "noeviction"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # ElastiCache refuses CONFIG; an ACL user without it stands in for that here
    ok.acl_setuser("app", enabled=True, passwords=["+app-pass"], keys=["*"], commands=["+@all", "-config"])
    limited = redis.Redis(port=own_redis.port, username="app", password="app-pass", decode_responses=True)
    assert check_eviction_policy(limited) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("not readable here" in r.getMessage() for r in caplog.records)
    limited.close()
    ok.close()
