"""HTTPS sessions through the worker's pool, guards and runner, in real Chromium, all on loopback.

Given the tests' throwaway CA (made at test time) trusted through TRAFFIC_TOOL_EXTRA_CA_FILE and
HTTPS fixture sites with good and bad leaves, when the worker runs sessions on them, then the
result carries the certificate (`tls`) or fails with `tls_error` naming the cause; the egress
guard holds behind HTTPS redirects and `wss` sockets (the canary on 127.0.0.2 counts leaks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from jobcore.models import JobRequest, SessionResult, SessionSpec
from jobcore.queue import JobQueue
from jobcore.store import JobStore
from tests.support.auth_proxy import auth_proxy
from tests.support.browser_harness import BrowserHarness, browser_settings
from tests.support.fixture_site import FixtureSite
from tests.support.redis_server import RedisServer, free_port
from tests.support.tls_sites import LEAF_DAYS, ThrowawayPki, TlsSites
from tests.support.waiting import wait_for_job
from traffic_tool.local.worker_launcher import loopback_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PASSWORD = "pw-tls-9c1e-never-logged"


@pytest.fixture(scope="module")
def tls(pki: ThrowawayPki) -> Iterator[TlsSites]:
    sites = TlsSites(pki)
    yield sites
    sites.stop()


@pytest.fixture(scope="module")
def trusting(pki: ThrowawayPki) -> Iterator[BrowserHarness]:
    """The worker's browsers, told to trust the tests' CA."""
    harness = BrowserHarness(browser_settings(extra_ca_file=str(pki.ca_file)))
    yield harness
    harness.close()


def test_valid_leaf_is_ok_and_reports_its_certificate(trusting: BrowserHarness, tls: TlsSites) -> None:
    url = tls.valid.url("/light.html")
    result = trusting.run({"url": url, "expect": {"analytics": True}})
    assert result.status == "ok", result.error
    assert result.http_status == 200
    assert result.final_url == url
    assert [(h.vendor, h.id, h.event) for h in result.analytics] == [("ga4", "G-TEST", "page_view")]
    assert result.requests == 2  # the document and its beacon, both over HTTPS
    assert result.tls is not None
    assert result.tls.protocol == "TLS 1.3"
    assert result.tls.issuer == "Traffic Tool Test CA"
    assert result.tls.subject == "tls-fixture.test"
    assert result.tls.days_left in (LEAF_DAYS - 1, LEAF_DAYS)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=LEAF_DAYS)
    assert abs((result.tls.valid_to - expires).total_seconds()) < 600
    assert result.tls.valid_from < dt.datetime.now(dt.UTC)


def test_tls12_only_site_is_ok_over_tls12(trusting: BrowserHarness, tls: TlsSites) -> None:
    result = trusting.run({"url": tls.tls12.url("/light.html")})
    assert result.status == "ok", result.error
    assert result.tls is not None and result.tls.protocol == "TLS 1.2"


@pytest.mark.parametrize(
    ("which", "code", "words"),
    [
        ("expired", "ERR_CERT_DATE_INVALID", "has expired or is not yet valid"),
        ("not_yet_valid", "ERR_CERT_DATE_INVALID", "has expired or is not yet valid"),
        ("wrong_name", "ERR_CERT_COMMON_NAME_INVALID", "does not match the host"),
        ("other_ca", "ERR_CERT_AUTHORITY_INVALID", "not trusted"),
        ("tls10", "ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "weak or old TLS protocol"),
    ],
)
def test_bad_certificate_is_tls_error_in_words(
    trusting: BrowserHarness, tls: TlsSites, which: str, code: str, words: str
) -> None:
    site = getattr(tls, which)
    before = site.requests_to("/light.html")
    result = trusting.run({"url": site.url("/light.html")})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "tls_error"
    assert words in result.error.message
    assert code in result.error.message
    assert result.tls is None
    assert result.http_status is None
    assert site.requests_to("/light.html") == before  # no request was sent over the refused connection


def test_without_the_extra_ca_the_valid_leaf_is_not_trusted(browser: BrowserHarness, tls: TlsSites) -> None:
    result = browser.run({"url": tls.valid.url("/light.html")})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "tls_error"
    assert "not trusted" in result.error.message


def test_min_days_left_fails_a_certificate_expiring_sooner(trusting: BrowserHarness, tls: TlsSites) -> None:
    url = tls.valid.url("/light.html")
    soon = trusting.run({"url": url, "expect": {"tls": {"min_days_left": LEAF_DAYS + 1}}})
    assert soon.status == "failed"
    assert soon.error is not None and soon.error.type == "expectation_failed"
    assert soon.tls is not None
    assert f"expires on {soon.tls.valid_to:%Y-%m-%d}" in soon.error.message
    assert f"min_days_left {LEAF_DAYS + 1}" in soon.error.message
    enough = trusting.run({"url": url, "expect": {"tls": {"min_days_left": LEAF_DAYS - 2}}})
    assert enough.status == "ok", enough.error


def test_expect_tls_on_plain_http_fails(trusting: BrowserHarness, site: FixtureSite) -> None:
    result = trusting.run({"url": site.url("/light.html"), "expect": {"tls": {"min_days_left": 1}}})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "expectation_failed"
    assert "plain HTTP" in result.error.message
    assert result.tls is None


def test_redirects_http_to_https_to_http(trusting: BrowserHarness, site: FixtureSite, tls: TlsSites) -> None:
    back = site.url("/light.html?back")
    via_https = tls.valid.url(f"/to?u={quote(back, safe='')}")
    result = trusting.run({"url": site.url(f"/to?u={quote(via_https, safe='')}")})
    assert result.status == "ok", result.error
    assert result.final_url == back
    assert result.tls is None  # the main document ended on plain HTTP
    assert result.requests == 4  # two redirects, the page, its beacon
    assert tls.valid.requests_to("/to?u=") >= 1

    to_https = trusting.run({"url": site.url(f"/to?u={quote(tls.valid.url('/light.html'), safe='')}")})
    assert to_https.status == "ok", to_https.error
    assert to_https.final_url == tls.valid.url("/light.html")
    assert to_https.tls is not None and to_https.tls.issuer == "Traffic Tool Test CA"


def test_subresource_over_https(trusting: BrowserHarness, site: FixtureSite, tls: TlsSites) -> None:
    good = tls.valid.url("/gen/app.js")
    loaded = trusting.run(
        {"url": site.url(f"/subresource.html?src={quote(good, safe='')}"),
         "expect": {"selector": "#state:text('loaded')"}, "timeout_s": 5}
    )  # fmt: skip
    assert loaded.status == "ok", loaded.error
    assert loaded.requests == 2
    # A subresource with a bad certificate does not load, and the page goes on without it.
    bad = tls.other_ca.url("/gen/app.js")
    refused = trusting.run(
        {"url": site.url(f"/subresource.html?src={quote(bad, safe='')}"),
         "expect": {"selector": "#state:text('failed')"}, "timeout_s": 5}
    )  # fmt: skip
    assert refused.status == "ok", refused.error
    assert tls.other_ca.requests_to("/gen/app.js") == 0


def _socket_session(harness: BrowserHarness, tls: TlsSites, target: str, ends: str) -> SessionResult:
    """The HTTPS page ws.html opening a WebSocket to `target`; ok once its state matches `ends`."""
    return harness.run(
        {"url": tls.valid.url(f"/ws.html?ws={target}"), "timeout_s": 5,
         "expect": {"selector": f"#state:text-matches('{ends}')"}}
    )  # fmt: skip


def test_wss_websocket_to_allowed_host_is_connected(trusting: BrowserHarness, tls: TlsSites) -> None:
    before = tls.valid.requests_to("/ws-allowed")
    result = _socket_session(trusting, tls, f"wss://127.0.0.1:{tls.valid.port}/ws-allowed", "closed|open")
    assert result.status == "ok", result.error
    assert result.blocked_requests == 0
    assert tls.valid.requests_to("/ws-allowed") == before + 1  # the handshake reached the server over TLS


def test_session_proxy_carries_https_through_connect(trusting: BrowserHarness, tls: TlsSites) -> None:
    with auth_proxy(PASSWORD) as proxy:
        result = trusting.run(
            {"url": tls.valid.url("/light.html?via-proxy"),
             "proxy": {"server": proxy, "username": "user", "password": PASSWORD}}
        )  # fmt: skip
    assert result.status == "ok", result.error
    assert result.tls is not None and result.tls.issuer == "Traffic Tool Test CA"
    assert tls.valid.requests_to("/light.html?via-proxy") >= 1
    assert PASSWORD not in result.model_dump_json()


# ---- the egress guard behind HTTPS -------------------------------------------------------------


@pytest.mark.parametrize("start", ["https", "http"])
def test_https_redirect_to_denied_address_reaches_no_canary(
    trusting: BrowserHarness, site: FixtureSite, tls: TlsSites, start: str
) -> None:
    before = len(tls.canary.hits)
    target = tls.canary.url("/light.html")
    origin = tls.valid if start == "https" else site
    result = trusting.run({"url": origin.url(f"/to?u={quote(target, safe='')}")})
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "blocked_target"
    assert result.blocked_requests == 1
    assert len(tls.canary.hits) == before  # Chromium never connected


def test_wss_to_denied_address_is_refused_before_connecting(trusting: BrowserHarness, tls: TlsSites) -> None:
    before = len(tls.canary.hits)
    result = _socket_session(trusting, tls, f"wss://127.0.0.2:{tls.canary.port}/ws-probe", "^closed")
    assert result.status == "ok", result.error
    assert result.blocked_requests == 1
    assert len(tls.canary.hits) == before


def test_browsers_run_in_a_home_of_their_own(trusting: BrowserHarness) -> None:
    assert trusting.pool is not None and trusting.pool.home is not None
    home = trusting.pool.home.path
    assert home != Path.home()
    assert (home / ".pki" / "nssdb" / "cert9.db").is_file()
    pids = [b.pid for b in trusting.pool.browsers if b.pid is not None]
    assert pids
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"HOME={home}".encode() in environ


def test_a_worker_given_a_bad_ca_file_does_not_start(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    worker = loopback_worker(f"redis://127.0.0.1:{free_port()}/0", tmp_path / "worker.log",
                           extra_ca_file=str(bad), redis_socket_timeout_s=0.5)  # fmt: skip
    try:
        assert worker.proc.wait(30) == 1
    finally:
        worker.stop()
    assert "TRAFFIC_TOOL_EXTRA_CA_FILE holds no PEM certificate" in worker.log()
    assert "serving" not in worker.log()


def test_a_worker_process_trusts_the_ca_file_of_its_environment(
    redis_server: RedisServer,
    queue: JobQueue,
    store: JobStore,
    pki: ThrowawayPki,
    tls: TlsSites,
    tmp_path: Path,
) -> None:
    """The whole path: TRAFFIC_TOOL_EXTRA_CA_FILE → the worker's NSS database → a result through Redis."""
    worker = loopback_worker(redis_server.url, tmp_path / "worker.log", extra_ca_file=str(pki.ca_file))
    try:
        worker.wait_log("serving")
        specs = [
            SessionSpec(url=tls.valid.url("/light.html")),
            SessionSpec(url=tls.other_ca.url("/light.html")),
        ]
        job = queue.enqueue("acme", JobRequest(sessions=specs))
        view = wait_for_job(store, "acme", job)
    finally:
        worker.stop()
    trusted, other = view.sessions
    assert trusted.status == "ok", trusted.error
    assert trusted.tls is not None and trusted.tls.days_left in (LEAF_DAYS - 1, LEAF_DAYS)
    assert other.error is not None and other.error.type == "tls_error"
    assert "browsers trust 1 extra CA certificate" in worker.log()
