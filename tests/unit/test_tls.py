"""TLS verdicts: Chromium's certificate codes in words, the `tls` field, `expect.tls`, and the NSS database
the worker builds for its browsers (with Debian's real certutil)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import trustme
from playwright.async_api import Error as PlaywrightError

from jobcore.errors import ErrorType
from jobcore.models import ExpectTls, SessionSpec
from jobcore.settings import Settings
from worker.error_mapping import classify
from worker.tls_verdict import check_tls, tls_info
from worker.trust_store import TrustStoreError, make_browser_home

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DETAILS = {
    "protocol": "TLS 1.3", "issuer": "R11", "subjectName": "example.test",
    "validFrom": (NOW - dt.timedelta(days=60)).timestamp(),
    "validTo": (NOW + dt.timedelta(days=29, hours=23)).timestamp(),
}  # fmt: skip


def _net(code: str) -> PlaywrightError:
    return PlaywrightError(f"Page.goto: net::{code} at https://127.0.0.1:1/\nCall log:\n  - navigating")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("ERR_CERT_DATE_INVALID", "expired or is not yet valid"),
        ("ERR_CERT_COMMON_NAME_INVALID", "does not match the host"),
        ("ERR_CERT_AUTHORITY_INVALID", "not trusted"),
        ("ERR_CERT_REVOKED", "revoked"),
        ("ERR_CERT_WEAK_SIGNATURE_ALGORITHM", "weak"),
        ("ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "weak or old TLS protocol"),
        ("ERR_SSL_OBSOLETE_VERSION_OR_CIPHER", "weak or old TLS protocol"),
        ("ERR_CERT_SOMETHING_NEW", "certificate or TLS handshake was refused"),  # a code added later
    ],
)
def test_certificate_codes_are_tls_errors_in_words(code: str, words: str) -> None:
    info = classify(_net(code))
    assert info.type == ErrorType.TLS_ERROR
    assert words in info.message
    assert code in info.message


def test_the_proxy_certificate_stays_a_proxy_error() -> None:
    assert classify(_net("ERR_PROXY_CERTIFICATE_INVALID")).type == ErrorType.PROXY_ERROR


def test_tls_info_from_security_details() -> None:
    info = tls_info(DETAILS, NOW)
    assert info is not None
    assert (info.protocol, info.issuer, info.subject) == ("TLS 1.3", "R11", "example.test")
    assert info.days_left == 29  # whole days: 29 d 23 h is 29
    assert info.valid_to.date() == dt.date(2026, 12, 30)
    expired = tls_info({**DETAILS, "validTo": (NOW - dt.timedelta(hours=1)).timestamp()}, NOW)
    assert expired is not None and expired.days_left == -1
    assert tls_info({"protocol": "TLS 1.3"}, NOW) is None
    nameless = tls_info({**DETAILS, "issuer": "", "subjectName": ""}, NOW)
    assert nameless is not None and nameless.issuer is None and nameless.subject is None


def test_expect_tls_names_the_date() -> None:
    info = tls_info(DETAILS, NOW)
    assert check_tls(None, info) is None
    assert check_tls(ExpectTls(min_days_left=29), info) is None
    failed = check_tls(ExpectTls(min_days_left=30), info)
    assert failed is not None and failed.type == ErrorType.EXPECTATION_FAILED
    assert "expires on 2026-12-30 (29 days left)" in failed.message
    plain = check_tls(ExpectTls(min_days_left=1), None)
    assert plain is not None and "plain HTTP" in plain.message


def test_expect_tls_input_is_checked() -> None:
    spec = SessionSpec.model_validate(
        {"url": "https://example.com/", "expect": {"tls": {"min_days_left": 21}}}
    )
    assert spec.expect.tls == ExpectTls(min_days_left=21)
    for bad in ({"min_days_left": -1}, {"min_days_left": 100_000}, {"min_days": 3}):
        with pytest.raises(ValueError, match="min_days"):
            SessionSpec.model_validate({"url": "https://example.com/", "expect": {"tls": bad}})


def _nss_nicknames(home: Path) -> str:
    return subprocess.run(["certutil", "-L", "-d", f"sql:{home / '.pki' / 'nssdb'}"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_browser_home_trusts_every_ca_of_the_file_and_the_text(tmp_path: Path) -> None:
    pem_file = tmp_path / "cas.pem"
    pem_file.write_bytes(trustme.CA().cert_pem.bytes() + trustme.CA().cert_pem.bytes())
    home = make_browser_home(
        Settings(extra_ca_file=str(pem_file), extra_ca_pem=trustme.CA().cert_pem.bytes().decode())
    )
    try:
        assert home.extra_cas == 3
        assert home.env() == {"HOME": str(home.path)}
        assert home.path != Path.home()
        listed = _nss_nicknames(home.path)
        for number in (1, 2, 3):
            assert f"traffic-tool extra CA {number}" in listed
        assert "C,," in listed
        assert not list((home.path / ".pki" / "nssdb").glob("*.pem"))  # the PEM copies are gone
    finally:
        home.remove()
    assert not home.path.exists()


def test_browser_home_without_extra_cas_has_no_database() -> None:
    home = make_browser_home(Settings())
    try:
        assert home.extra_cas == 0
        assert not (home.path / ".pki").exists()
    finally:
        home.remove()


@pytest.mark.parametrize(
    ("content", "words"), [(None, "No such file"), ("not a certificate", "holds no PEM certificate")]
)
def test_a_bad_ca_file_stops_the_worker_at_start(tmp_path: Path, content: str | None, words: str) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TrustStoreError, match=words):
        make_browser_home(Settings(extra_ca_file=str(path)))
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(TrustStoreError, match="certutil -A failed"):
        make_browser_home(Settings(extra_ca_pem=broken))


def test_results_table_shows_days_left_of_https_sessions() -> None:
    from rich.console import Console

    from jobcore.models import JobView, SessionResult
    from traffic_tool.render import results_table

    https = SessionResult(index=0, url="https://example.test/", status="ok", tls=tls_info(DETAILS, NOW))
    plain = SessionResult(index=1, url="http://example.test/", status="ok")
    view = JobView.model_validate(
        {"job_id": "j1", "status": "completed", "priority": "normal", "created_at": NOW,
         "progress": {"total": 2, "queued": 0, "running": 0, "ok": 2, "failed": 0, "cancelled": 0},
         "sessions": [https, plain]}
    )  # fmt: skip
    console = Console(record=True, width=140)
    console.print(results_table(view))
    lines = console.export_text().splitlines()
    cells = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")] for line in lines if "│" in line
    }
    header = next(line for line in lines if "analytics" in line)
    column = [c.strip() for c in header.split("┃")].index("cert")
    assert cells["0"][column] == "29d"
    assert cells["1"][column] == "-"


def test_emf_counts_tls_error(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from jobcore.models import ErrorInfo, SessionResult
    from worker.session_metrics import SessionMetrics

    metrics = SessionMetrics()
    error = ErrorInfo(type=ErrorType.TLS_ERROR, message="the target's certificate has expired")
    metrics.ended(SessionResult(index=0, url="https://example.test/", status="failed", error=error))
    metrics.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    by_type = [line for line in lines if line.get("ErrorType") == "tls_error"]
    assert by_type and by_type[0]["SessionsFailed"] in (1, [1])
