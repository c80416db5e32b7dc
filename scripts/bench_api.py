"""make bench-api: submit latency through the local adapter at a fixed rate, and queue throughput.

Prints figures; asserts nothing. Every request goes to loopback, every loop is bounded.
    python scripts/bench_api.py [--rate 200] [--seconds 10] [--processes 1,2] [--sessions 20000]

The submit latency is measured once per API process count: `traffic-tool api --processes N` serves the
port from N processes, as Lambda serves concurrent requests from separate execution environments.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("layers/core", "cli")]

from jobcore.constants import SessionStatus  # noqa: E402
from jobcore.models import JobRequest, SessionResult  # noqa: E402
from jobcore.queue import JobQueue  # noqa: E402
from jobcore.redis_conn import connect  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from traffic_tool.capacity.measured import Figure, default_path, write_figures  # noqa: E402
from traffic_tool.local.redis_process import RedisServer, free_port  # noqa: E402

BODY = {"sessions": [{"url": "http://127.0.0.1:9/bench"}], "labels": {"bench": "api"}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_api(redis_url: str, processes: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "traffic_tool.main", "api", "--port", str(port), "--redis-url", redis_url]
    cmd += ["--tokens", "bench=tok-bench", "--allow-targets", "127.0.0.1/32", "--processes", str(processes)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the API did not start")


def submit_latency(url: str, rate: float, seconds: float, processes: int) -> None:
    """Open loop: request i is due at t0 + i/rate; latency counts from when it was due."""
    total = int(rate * seconds)
    local = threading.local()
    latencies: list[float] = []
    service: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int, due: float) -> None:
        client: httpx.Client = local.client  # made by warm()
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        reply = client.post(f"{url}/jobs", json=BODY)
        done = time.perf_counter()
        with lock:
            latencies.append((done - due) * 1000)
            service.append((done - began) * 1000)
            statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

    threads = 16
    ready = threading.Barrier(threads)

    def warm(_: int) -> None:
        """Every pool thread makes its client and its connection before the clock starts (an httpx
        client costs milliseconds to build: 16 of them inside the run were its whole p99)."""
        ready.wait(timeout=30)  # holds each thread until all of them exist, so each warms its own
        local.client = httpx.Client(headers={"Authorization": "Bearer tok-bench"}, timeout=10)
        for _ in range(5):
            local.client.post(f"{url}/jobs", json=BODY)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(warm, range(threads)))
        t0 = time.perf_counter() + 0.2
        for i in range(total):
            pool.submit(one, i, t0 + i / rate)
    elapsed = time.perf_counter() - t0
    print(
        f"submit latency at {rate:.0f} req/s for {seconds:.0f} s, {processes} API process(es) "
        f"({total} requests, statuses {statuses}):"
    )
    print(
        f"  from due time: p50 {percentile(latencies, 0.5):.1f} ms  p99 {percentile(latencies, 0.99):.1f} ms"
        f"  max {max(latencies):.1f} ms   (target p99 <= 25 ms)"
    )
    print(
        f"  service time:  p50 {percentile(service, 0.5):.1f} ms  p99 {percentile(service, 0.99):.1f} ms"
        f"  mean {statistics.fmean(service):.1f} ms; achieved {total / elapsed:.0f} req/s"
    )


def redis_busy(client: object) -> tuple[float, int]:
    """(CPU-seconds of Redis's main thread, commands processed): what one primary spends per session."""
    info = client.info()  # type: ignore[attr-defined]
    cpu = info.get("used_cpu_user_main_thread", info["used_cpu_user"]) + info.get(
        "used_cpu_sys_main_thread", info["used_cpu_sys"]
    )
    return float(cpu), int(info["total_commands_processed"])


def queue_throughput(redis_url: str, sessions: int, figures: Path | None) -> None:
    """One process, no browser: enqueue → claim → fenced result write → ack."""
    settings = Settings(redis_url=redis_url, max_backlog=10**7, tenant_quota=10**7)
    client = connect(settings)
    queue = JobQueue(client, settings)
    cpu0, commands0 = redis_busy(client)
    per_job = 500
    request = JobRequest.model_validate({"sessions": [{"url": "http://127.0.0.1:9/q"}] * per_job})
    result = SessionResult(index=0, url="http://127.0.0.1:9/q", status=SessionStatus.OK, http_status=200)
    began = time.perf_counter()
    for _ in range(sessions // per_job):
        queue.enqueue("bench", request)
    enqueued = time.perf_counter()
    done = 0
    while done < sessions:
        leases = queue.claim("bench-worker", 50)
        if not leases:
            break
        for lease in leases:
            done += queue.complete(lease, result)
    finished = time.perf_counter()
    cpu1, commands1 = redis_busy(client)
    us_per_session = (cpu1 - cpu0) * 1e6 / max(1, done)
    commands = (commands1 - commands0 - 2) / max(1, done)  # less the two INFO calls
    print(f"queue path, one process, {done} sessions:")
    print(f"  enqueue {sessions / (enqueued - began):,.0f} sessions/s")
    print(
        f"  claim + fenced write + ack {done / (finished - enqueued):,.0f} sessions/s;"
        f" end to end {done / (finished - began):,.0f} sessions/s   (target >= 2,000)"
    )
    print(
        f"  Redis main thread {us_per_session:.0f} µs and {commands:.1f} commands per session: one primary "
        f"saturates near {1e6 / max(us_per_session, 1e-9):,.0f} sessions/s (the simulator's ceiling)"
    )
    if figures is not None:
        source = f"make bench-api ({time.strftime('%Y-%m-%d')}): queue path, {done} sessions, one client"
        write_figures(
            {
                "redis_us_per_session": Figure(
                    round(us_per_session, 1),
                    "us",
                    "measured",
                    source + "; Redis main-thread CPU per session end to end",
                ),
                "redis_ops_per_session": Figure(
                    round(commands, 2),
                    "commands",
                    "measured",
                    source + "; commands Redis runs per session, Lua scripts' inner calls included",
                ),
            },
            figures,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--processes", default="1,2", help="API process counts to measure, comma-separated (0: none)"
    )
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument(
        "--figures", type=Path, default=default_path(), help="measured-figures JSON to update"
    )
    args = parser.parse_args()
    server = RedisServer()
    server.appendfsync = "everysec"  # as ElastiCache runs; WAIT covers durability there
    server.start()
    try:
        for processes in (int(n) for n in args.processes.split(",") if int(n) > 0):
            proc, url = start_api(server.url, processes)
            try:
                submit_latency(url, args.rate, args.seconds, processes)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            connect(Settings(redis_url=server.url)).flushall()
        queue_throughput(server.url, args.sessions, args.figures)
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
