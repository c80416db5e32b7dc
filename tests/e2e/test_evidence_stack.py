"""Evidence end to end on the local stack (API, worker, moto S3): links, redirect, the report in real
Chromium (hostile page content shows as text and runs nothing), and the CLI's CI gate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import free_port
from tests.support.report_browser import render_and_check
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "evidence-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
ON_FAILURE = {"har": "on_failure", "trace": "on_failure"}

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("stack")
    port = free_port()
    out_path = tmp / "stack.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.stack_runner", "--port", str(port), "--tokens",
             f"local={TOKEN}", "--state-dir", str(tmp / "state"), "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        wait_until(lambda: "ready." in out_path.read_text(errors="replace"), 90, what="the local stack")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_job(api: str, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = httpx.post(f"{api}/jobs", json={"sessions": sessions}, headers=HEADERS, timeout=30)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()["job_id"]
    wait_until(lambda: httpx.get(f"{api}/jobs/{job}", headers=HEADERS).json()["status"] == "completed",
               120, what="the job")  # fmt: skip
    view: dict[str, Any] = httpx.get(f"{api}/jobs/{job}", headers=HEADERS).json()
    return view


def cli(api: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env.update(TRAFFIC_TOOL_API_URL=api, TRAFFIC_TOOL_TOKEN=TOKEN)
    return subprocess.run(
        [sys.executable, "-c", "from traffic_tool.main import main; main()", *args],
        capture_output=True, text=True, timeout=180, env=env, cwd=cwd, check=False,
    )  # fmt: skip


def test_links_redirect_and_report_in_chromium(stack: str, site: FixtureSite, tmp_path: Path) -> None:
    view = run_job(stack, [
        {"url": site.url("/light.html"), "artifacts": ON_FAILURE},
        {"url": site.url("/status?code=404"), "artifacts": ON_FAILURE},
        {"url": site.url("/light.html?step"), "artifacts": ON_FAILURE,
         "steps": [{"action": "click", "selector": "#missing", "timeout_ms": 500}]},
        {"url": site.url("/hostile.html"), "expect": {"analytics": True}},
    ])  # fmt: skip
    sessions = view["sessions"]
    assert [s["status"] for s in sessions] == ["ok", "failed", "failed", "failed"]
    assert sessions[0]["artifacts"] == []
    har = next(a for a in sessions[1]["artifacts"] if a["name"] == "har")
    assert har["url"].startswith("http://127.0.0.1:") and "Signature" in har["url"]  # presigned, on moto
    assert json.loads(httpx.get(har["url"]).content)["log"]["version"] == "1.2"

    job = view["job_id"]
    moved = httpx.get(f"{stack}/jobs/{job}/sessions/2/artifacts/trace", headers=HEADERS)
    assert moved.status_code == 302, moved.text
    assert httpx.get(moved.headers["location"]).content[:2] == b"PK"  # a zip
    missing = httpx.get(f"{stack}/jobs/{job}/sessions/0/artifacts/trace", headers=HEADERS)
    assert missing.status_code == 404
    other = httpx.get(f"{stack}/jobs/{job}/report", headers={"Authorization": "Bearer nobody"})
    assert other.status_code == 403  # a token no tenant holds

    reply = httpx.get(f"{stack}/jobs/{job}/report", headers=HEADERS, timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "script-src" not in reply.headers["content-security-policy"]  # default-src 'none' covers it
    report = tmp_path / "report.html"
    report.write_text(reply.text)
    render_and_check(report, rows=4, failed=3, hostile_index=3)


def test_submit_wait_is_a_ci_gate(stack: str, site: FixtureSite, tmp_path: Path) -> None:
    ok_job = tmp_path / "ok.json"
    ok_job.write_text(json.dumps({"sessions": [{"url": site.url("/light.html")}] * 2}))
    assert cli(stack, "submit", str(ok_job), "--wait", cwd=tmp_path).returncode == 0

    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"sessions": [
        {"url": site.url("/light.html")},
        {"url": site.url("/status?code=500"), "artifacts": ON_FAILURE},
        {"url": site.url("/plain.html"), "expect": {"analytics": True}},
    ]}))  # fmt: skip
    done = cli(
        stack, "submit", str(mixed), "--wait", "--junit", "junit.xml", "--report", "r.html", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")  # noqa: S314 (our own file)
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "2"
    cases = suite.findall("testcase")
    assert len(cases) == 3 and [c.find("failure") is not None for c in cases] == [False, True, True]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "http_error"
    assert "har: http://127.0.0.1:" in (failure.text or "")  # the artifact links
    assert '<table id="sessions">' in (tmp_path / "r.html").read_text()

    job = (tmp_path / "r.html").read_text().split("<title>traffic-tool job ")[1][:32]
    got = cli(stack, "artifacts", job, "--session", "1", "-o", "evidence", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert {p.name for p in (tmp_path / "evidence" / "1").iterdir()} == {
        "screenshot.png",
        "console.json",
        "session.har",
        "trace.zip",
    }
    assert cli(stack, "report", job, "-o", "again.html", cwd=tmp_path).returncode == 0

    nobody = f"http://127.0.0.1:{free_port()}"
    assert cli(nobody, "submit", str(ok_job), "--wait", cwd=tmp_path).returncode == 2
    assert cli(stack, "submit", "--wait", cwd=tmp_path).returncode == 2  # usage: no URL, no job file
