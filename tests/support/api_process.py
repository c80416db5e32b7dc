"""`traffic-tool api` (the local adapter) as a real subprocess on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from traffic_tool.local.redis_process import free_port, stop_process

TOKENS = {"tenant-a": "tok-a", "tenant-b": "tok-b"}


class ApiProcess:
    def __init__(
        self, redis_url: str, allow_targets: str = "127.0.0.1/32", processes: int = 1, **env: str
    ) -> None:
        self.port = free_port()
        self.processes = processes
        self.redis_url = redis_url
        self.allow_targets = allow_targets
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        tokens = ",".join(f"{tenant}={token}" for tenant, token in TOKENS.items())
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **self.env}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "traffic_tool.main",
                "api",
                "--port",
                str(self.port),
                "--tokens",
                tokens,
                "--allow-targets",
                self.allow_targets,
                "--redis-url",
                self.redis_url,
                "--processes",
                str(self.processes),
            ],
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"traffic-tool api exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("traffic-tool api did not start in 30 s")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def client(api: ApiProcess, tenant: str | None = "tenant-a") -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[tenant]}"} if tenant else {}
    return httpx.Client(base_url=api.url, headers=headers, timeout=30)
