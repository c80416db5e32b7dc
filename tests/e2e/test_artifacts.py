"""Evidence of failed sessions: real Chromium, artifacts to S3 (moto on loopback), HAR and trace checked."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from jobcore.queue import new_job_id
from jobcore.s3_layout import artifact_key
from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.fixture_site import FixtureSite
from worker.screenshots import S3ScreenshotStore

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ON_FAILURE = {"har": "on_failure", "trace": "on_failure"}
BUCKET = "evidence"


@pytest.fixture(scope="module")
def store() -> Iterator[S3ScreenshotStore]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
    client.create_bucket(Bucket=BUCKET)
    yield S3ScreenshotStore(BUCKET, client=client)
    server.stop()


@pytest.fixture(scope="module")
def harness(store: S3ScreenshotStore) -> Iterator[BrowserHarness]:
    h = BrowserHarness(browser_settings(bucket=BUCKET), screenshots=store)
    yield h
    h.close()


def objects(store: S3ScreenshotStore, prefix: str) -> dict[str, bytes]:
    found = store.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: store.client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in found}


def test_failed_sessions_keep_their_evidence_ok_ones_none(
    harness: BrowserHarness, store: S3ScreenshotStore, site: FixtureSite
) -> None:
    light = site.url("/light.html")
    specs: list[dict[str, Any]] = [
        {"url": light, "expect": {"analytics": True}},
        {"url": site.url("/status?code=404")},
        {"url": site.url("/slow?s=8"), "timeout_s": 2},
        {"url": light + "?step", "steps": [{"action": "click", "selector": "#missing", "timeout_ms": 500}]},
        {"url": site.url("/plain.html"), "expect": {"analytics": True}},
    ]
    job_id = new_job_id()
    results = [
        harness.run({**spec, "artifacts": ON_FAILURE}, tenant="acme", job_id=job_id, index=i)
        for i, spec in enumerate(specs)
    ]
    assert [r.status for r in results] == ["ok", "failed", "failed", "failed", "failed"], [
        r.error for r in results
    ]
    assert [r.error.type for r in results[1:] if r.error] == [
        "http_error",
        "navigation_timeout",
        "step_failed",
        "analytics_not_detected",
    ]

    assert results[0].artifacts == [] and results[0].failure is None
    assert objects(store, f"artifacts/acme/{job_id}/0/") == {}
    for result in results[1:]:
        names = {a.name: a for a in result.artifacts}
        assert set(names) == {"screenshot", "console", "har", "trace"}, result.artifacts
        assert all(a.skipped is None and a.url and a.bytes > 0 for a in names.values()), result.artifacts
        stored = objects(store, f"artifacts/acme/{job_id}/{result.index}/")
        assert set(stored) == {artifact_key("acme", job_id, result.index, n) for n in names}
        png = stored[artifact_key("acme", job_id, result.index, "screenshot")]
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        har = json.loads(stored[artifact_key("acme", job_id, result.index, "har")])
        assert har["log"]["version"] == "1.2"
        urls = [e["request"]["url"] for e in har["log"]["entries"]]
        assert any(u.startswith(result.url.split("?")[0]) for u in urls), urls
        assert all(
            "content" in e["response"] and "text" not in e["response"]["content"]
            for e in har["log"]["entries"]
        )
        with zipfile.ZipFile(
            io.BytesIO(stored[artifact_key("acme", job_id, result.index, "trace")])
        ) as trace:
            names_in_zip = trace.namelist()
            assert "trace.trace" in names_in_zip and "trace.network" in names_in_zip, names_in_zip
            events = [json.loads(line) for line in trace.read("trace.trace").decode().splitlines() if line]
            assert events[0]["type"] == "context-options"
            assert any(e["type"] == "screencast-frame" for e in events)  # screenshots on
            assert any(e["type"] == "frame-snapshot" for e in events)  # snapshots on
            assert not any(n.endswith(".py") or n.startswith("src@") for n in names_in_zip)  # sources off
        assert result.failure is not None

    not_found, timed_out, step, _ = results[1:]
    assert not_found.failure is not None and not_found.failure.last_http_status == 404
    assert timed_out.failure is not None and timed_out.failure.last_url is None  # nothing had loaded
    assert step.failure is not None and (step.failure.step_index, step.failure.step_action) == (1, "click")


def test_no_bucket_says_skipped(site: FixtureSite, browser: BrowserHarness) -> None:
    result = browser.run({"url": site.url("/status?code=500")})
    assert result.status == "failed"
    assert {a.name: a.skipped for a in result.artifacts} == {
        "screenshot": "no bucket configured",
        "console": "no bucket configured",
    }


def test_always_keeps_evidence_of_an_ok_session_too(
    harness: BrowserHarness, store: S3ScreenshotStore, site: FixtureSite
) -> None:
    job_id = new_job_id()
    spec = {"url": site.url("/hostile.html"), "artifacts": {"dom": "always", "console": "always"}}
    result = harness.run(spec, tenant="acme", job_id=job_id, index=0)
    assert result.status == "ok" and result.failure is None
    assert sorted(a.name for a in result.artifacts) == ["console", "dom"]
    stored = objects(store, f"artifacts/acme/{job_id}/0/")
    dom = stored[artifact_key("acme", job_id, 0, "dom")].decode()
    assert "<title>Hi &lt;script&gt;" in dom or "<title>Hi <script>" in dom  # the page's own HTML
    console = json.loads(stored[artifact_key("acme", job_id, 0, "console")])
    assert [line["type"] for line in console] == ["error", "pageerror"]
    assert all(isinstance(line["time_ms"], int) for line in console)
