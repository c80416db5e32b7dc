"""A recurring check on the local stack at --speed 60 (its every-minute schedule fires each second),
against a page the test makes flaky, breaks and repairs, alerting a loopback receiver that verifies
every signature: the flaky failure is quiet, the incident sends one check.failing, the repair one
check.recovered."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_local_stack import traffic_tool
from tests.support.processes import leftovers, read_until_ready, stack_processes
from tests.support.redis_server import free_port
from tests.support.switchable_site import SwitchableSite
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser


def test_a_check_alerts_once_per_state_change_on_the_local_stack(tmp_path: Path) -> None:
    site, receiver = SwitchableSite(), WebhookReceiver()
    port = free_port()
    before = stack_processes()
    proc = traffic_tool(
        "dev", "--port", str(port), "--tokens", "t=tok", "--min-workers", "1", "--max-workers", "1",
        "--speed", "60", "--state-dir", str(tmp_path / "state"),
        "--allow-targets", f"127.0.0.1:{site.port},127.0.0.1:{receiver.port}",
    )  # fmt: skip
    lines: list[str] = []
    try:
        read_until_ready(proc, lines)
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer tok"}, timeout=30
        )
        hook = api.post("/webhooks", json={"url": receiver.url()}).json()
        receiver.secret = hook["secret"]
        body = {
            "name": "switchable page",
            "schedule": "rate(1 minute)",
            "job": {"sessions": [{"url": site.url("/"), "expect": {"status": 200}, "timeout_s": 10}]},
            "alert": {"after_failures": 2, "recheck": True, "webhooks": [hook["webhook_id"]]},
        }
        reply = api.post("/checks", json=body)
        assert reply.status_code == 201, reply.text
        check_id = reply.json()["check_id"]

        def check() -> dict[str, Any]:
            data: dict[str, Any] = api.get(f"/checks/{check_id}").json()
            return data

        wait_until(lambda: check()["state"] == "ok", 90, "the first passing run")
        # one flaky failure: the recheck passes, nothing is sent
        site.mode = "flaky"
        wait_until(
            lambda: any(r["rechecked"] and r["ok"] for r in check()["runs"]), 60, "a recheck that passed"
        )
        assert check()["state"] == "ok" and receiver.received == []
        # broken: two consecutive failed runs (each rechecked) open one incident
        site.mode = "broken"
        wait_until(lambda: receiver.received, 60, "check.failing")
        failed_runs = lambda: sum(1 for r in check()["runs"] if r["ok"] is False)  # noqa: E731
        wait_until(lambda: failed_runs() >= 4, 60, "more failed runs while the incident is open")
        assert [got.event for got in receiver.received] == ["check.failing"]
        # repaired: one check.recovered
        site.mode = "ok"
        wait_until(lambda: len(receiver.received) == 2, 60, "check.recovered")
        time.sleep(2)  # a few more passing runs send nothing
        assert [got.event for got in receiver.received] == ["check.failing", "check.recovered"]
        assert all(got.signature_ok for got in receiver.received), [
            g.signature_error for g in receiver.received
        ]
        assert receiver.received[0].payload["failures"][0]["http_status"] == 500
        assert check()["state"] == "ok"
        api.close()
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
        lines.append(rest)
        site.close()
        receiver.close()
    log = "".join(lines)
    assert proc.returncode == 0, log
    assert re.search(r"DispatchFunction: \{", log), log
    assert leftovers(before) == set()
