"""Per-session proxy with credentials (proxy.py on loopback); screenshots to S3 (moto server on loopback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from jobcore.queue import new_job_id
from jobcore.s3_layout import screenshot_key
from tests.support.auth_proxy import auth_proxy
from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import free_port
from worker.screenshots import S3ScreenshotStore

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PASSWORD = "pw-7f3a-never-logged"


@pytest.fixture(scope="module")
def proxy_server() -> Iterator[str]:
    with auth_proxy(PASSWORD) as url:
        yield url


def test_proxy_credentials(
    browser: BrowserHarness, site: FixtureSite, proxy_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = site.url("/light.html?via-proxy")
    good = browser.run(
        {"url": url, "proxy": {"server": proxy_server, "username": "user", "password": PASSWORD}}
    )
    assert good.status == "ok", good.error
    assert good.http_status == 200
    assert good.analytics[0].id == "G-TEST"

    bad = browser.run(
        {"url": url, "proxy": {"server": proxy_server, "username": "user", "password": "wrong-pw"}}
    )
    assert bad.status == "failed"
    assert bad.error is not None and bad.error.type == "proxy_auth_failed"

    for result in (good, bad):
        assert PASSWORD not in result.model_dump_json()
        assert "wrong-pw" not in result.model_dump_json()
    assert all(PASSWORD not in r.getMessage() and "wrong-pw" not in r.getMessage() for r in caplog.records)


def test_unreachable_proxy_is_proxy_error(browser: BrowserHarness, site: FixtureSite) -> None:
    port = free_port()  # nothing listens there
    result = browser.run({"url": site.url("/light.html"), "proxy": {"server": f"http://127.0.0.1:{port}"}})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "proxy_error"


def test_proxy_on_denied_address_is_refused(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/light.html"), "proxy": {"server": "http://169.254.169.254:3128"}})
    assert result.error is not None and result.error.type == "blocked_target"


@pytest.fixture(scope="module")
def s3_store(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[S3ScreenshotStore]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch_module.setenv(key, value)
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
    client.create_bucket(Bucket="shots")
    yield S3ScreenshotStore("shots", client=client)
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_screenshot_to_s3_under_tenant_prefix(s3_store: S3ScreenshotStore, site: FixtureSite) -> None:
    harness = BrowserHarness(browser_settings(bucket="shots"), screenshots=s3_store)
    job_id = new_job_id()
    try:
        result = harness.run(
            {"url": site.url("/light.html"), "screenshot": True}, tenant="acme", job_id=job_id, index=2
        )
    finally:
        harness.close()
    assert result.status == "ok"
    key = screenshot_key("acme", job_id, 2, 1)
    assert key.startswith("screenshots/acme/")
    assert result.screenshot_url == f"s3://shots/{key}"
    body = s3_store.client.get_object(Bucket="shots", Key=key)["Body"].read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshot_without_bucket_is_skipped(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/light.html"), "screenshot": True})
    assert result.status == "ok"
    assert result.screenshot_url is None


def test_socks5_upstream_with_credentials(browser: BrowserHarness, site: FixtureSite) -> None:
    # Given a SOCKS5 proxy on loopback that wants a username and password
    from tests.support.socks5_server import Socks5Server

    socks = Socks5Server("user", PASSWORD)
    try:
        url = site.url("/light.html?via-socks")
        good = browser.run(
            {"url": url, "proxy": {"server": socks.url, "username": "user", "password": PASSWORD}}
        )
        # Then the egress proxy chains through it: the page and its beacon went via SOCKS
        assert good.status == "ok", good.error
        assert ("127.0.0.1", site.port) in socks.connects
        bad = browser.run(
            {"url": url, "proxy": {"server": socks.url, "username": "user", "password": "nope"}}
        )
        assert bad.status == "failed"
        assert bad.error is not None and bad.error.type == "proxy_auth_failed", bad.error
        assert PASSWORD not in good.model_dump_json() + bad.model_dump_json()
    finally:
        socks.close()


def test_session_proxy_on_a_denied_address_is_refused(browser: BrowserHarness, site: FixtureSite) -> None:
    result = browser.run({"url": site.url("/light.html"), "proxy": {"server": "http://127.0.0.2:3128"}})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "blocked_target"
    assert "proxy" in result.error.message and "loopback" in result.error.message
