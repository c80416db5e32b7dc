"""Canary secrets never surface: 0 occurrences in logs, results, EMF output and archives.

Every session also keeps every artifact (screenshot, HAR, trace, console, DOM), all searched too.
The whole local stack (API, schedules at 3600x speed, a worker, moto for S3) runs as a process with
every log at DEBUG and EMF on (tests/support/stack_runner.py). A job carries a canary proxy password
(used by a real proxy on loopback), a wrong canary proxy password (the proxy_auth_failed path) and a
canary `user:pass@` URL; every API call carries a canary bearer token in `Authorization`, and one
call an unknown canary token. Then the stack's output (logs and EMF), the worker logs, the results
and the archived gzip JSON in S3 are searched for every canary.
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import re
import signal
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from tests.support.auth_proxy import auth_proxy
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

RUN = uuid.uuid4().hex[:10]
PROXY_PASSWORD = f"canary-proxy-{RUN}"
WRONG_PASSWORD = f"canary-wrong-{RUN}"
URL_PASSWORD = f"canary-url-{RUN}"
TOKEN = f"canary-token-{RUN}"
BAD_TOKEN = f"canary-badtoken-{RUN}"
# the Basic-auth forms in which a proxy or a URL's credentials travel (a HAR or a trace could hold them)
BASIC_FORMS = tuple(
    base64.b64encode(f"{user}:{secret}".encode()).decode()
    for user, secret in (("user", PROXY_PASSWORD), ("user", WRONG_PASSWORD), ("someone", URL_PASSWORD))
)
CANARIES = (PROXY_PASSWORD, WRONG_PASSWORD, URL_PASSWORD, TOKEN, BAD_TOKEN, *BASIC_FORMS)
EVERY_ARTIFACT = {name: "always" for name in ("screenshot", "har", "trace", "console", "dom")}


@pytest.fixture
def proxy_server() -> Iterator[str]:
    with auth_proxy(PROXY_PASSWORD) as url:
        yield url


def hits(text: str) -> dict[str, int]:
    return {c: text.count(c) for c in CANARIES if c in text}


def artifact_text(body: bytes) -> str:
    """An artifact as searchable text: every entry of a zip (the trace), else the bytes themselves."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "".join(z.read(name).decode("utf-8", "replace") for name in z.namelist())
    return body.decode("utf-8", "replace")


def test_canary_secrets_never_surface(site: FixtureSite, proxy_server: str, tmp_path: Path) -> None:
    port = free_port()
    out_path = tmp_path / "stack.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAFFIC_TOOL_")}
    env.update(TRAFFIC_TOOL_LOG_LEVEL="DEBUG", POWERTOOLS_LOG_LEVEL="DEBUG")
    tokens = f"local=local-token,tenant-c={TOKEN}"
    with out_path.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "tests.support.stack_runner", "--port", str(port), "--tokens", tokens,
             "--speed", "3600", "--state-dir", str(tmp_path / "state"), "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    api = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        wait_until(lambda: "ready." in out_path.read_text(errors="replace"), 90, what="the local stack")
        endpoint = re.search(r"moto \(S3, CloudWatch\) on (\S+), bucket (\S+)", out_path.read_text())
        assert endpoint is not None
        moto_url, bucket = endpoint[1].rstrip(","), endpoint[2]
        light = site.url("/light.html")
        body = {"sessions": [
            {"url": light + "?proxied", "proxy": {"server": proxy_server, "username": "user",
                                                  "password": PROXY_PASSWORD}},
            {"url": light + "?wrong", "proxy": {"server": proxy_server, "username": "user",
                                                "password": WRONG_PASSWORD}},
            {"url": light.replace("http://", f"http://someone:{URL_PASSWORD}@") + "?inline"},
        ]}  # fmt: skip
        for session in body["sessions"]:
            session["artifacts"] = EVERY_ARTIFACT
        refused = httpx.post(f"{api}/jobs", json=body, headers={"Authorization": f"Bearer {BAD_TOKEN}"})
        assert refused.status_code == 403  # an unknown token never reaches the API
        accepted = httpx.post(f"{api}/jobs", json=body, headers=headers, timeout=30)
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()["job_id"]
        wait_until(lambda: httpx.get(f"{api}/jobs/{job}", headers=headers).json()["status"] == "completed",
                   90, what="the canary job")  # fmt: skip
        view = httpx.get(f"{api}/jobs/{job}", headers=headers).text
        listing = httpx.get(f"{api}/jobs", headers=headers).text
        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip

        def archived() -> list[str]:
            found = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            return [o["Key"] for o in found if job in o["Key"] and o["Key"].startswith("archive/")]

        wait_until(lambda: bool(archived()), 90, interval=1.0, what="the archive in S3")
        archives = "".join(
            gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()).decode() for k in archived()
        )
        stored = s3.list_objects_v2(Bucket=bucket, Prefix=f"artifacts/tenant-c/{job}/").get("Contents", [])
        artifact_keys = [o["Key"] for o in stored]
        artifacts = "".join(
            artifact_text(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in artifact_keys
        )
    finally:
        stack.send_signal(signal.SIGTERM)
        try:
            stack.wait(60)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait(10)

    stack_out = out_path.read_text(errors="replace")
    worker_logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "state" / "logs").glob("*.log"))
    emf = "\n".join(line for line in stack_out.splitlines() if '"_aws"' in line)
    found = {
        "stack output (API, schedules)": hits(stack_out), "EMF": hits(emf), "worker logs": hits(worker_logs),
        "results": hits(view + listing), "archives": hits(archives), "artifacts": hits(artifacts),
    }  # fmt: skip
    statuses = re.findall(r'"status":"(\w+)"', view)
    print(f"\ncanaries: {found}; sessions {statuses[1:]}; searched {len(stack_out)} + {len(worker_logs)} "
          f"log bytes, {len(emf.splitlines())} EMF lines, {len(archives)} archive bytes, "
          f"{len(artifact_keys)} artifacts ({len(artifacts)} bytes of text)")  # fmt: skip
    # controls: there was something to search, and the secrets were really used
    assert worker_logs and emf and archives
    assert {k.rsplit("/", 1)[1] for k in artifact_keys} >= {
        "session.har",
        "trace.zip",
        "dom.html",
        "console.json",
    }
    assert "light.html?proxied" in artifacts and "light.html?inline" in artifacts  # HARs and traces of both
    assert '"proxy_auth_failed"' in view  # the wrong password reached the proxy and was refused
    assert view.count('"status":"ok"') >= 2  # the right password and the inline credentials worked
    assert found == {k: {} for k in found}
