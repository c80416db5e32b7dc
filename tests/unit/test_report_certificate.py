"""The job report shows each HTTPS session's certificate (days left, expiry, protocol, issuer), escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from jobcore.constants import JobStatus, Priority, SessionStatus
from jobcore.models import JobView, Progress, SessionResult, TlsInfo
from jobcore.report import render_report


def _view(sessions: list[SessionResult]) -> JobView:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    progress = Progress(total=len(sessions), queued=0, running=0, ok=len(sessions), failed=0, cancelled=0)
    return JobView(job_id="j1", status=JobStatus.COMPLETED, priority=Priority.NORMAL, created_at=now,
                   progress=progress, sessions=sessions)  # fmt: skip


def test_the_report_shows_the_certificate_of_https_sessions() -> None:
    tls = TlsInfo(
        protocol="TLS 1.3", issuer="<script>Evil CA</script>", subject="127.0.0.1",
        valid_from=datetime(2026, 11, 1, tzinfo=UTC), valid_to=datetime(2026, 12, 20, tzinfo=UTC),
        days_left=19,
    )  # fmt: skip
    https = SessionResult(index=0, url="https://127.0.0.1/", status=SessionStatus.OK, tls=tls)
    plain = SessionResult(index=1, url="http://127.0.0.1/", status=SessionStatus.OK)
    html = render_report(_view([https, plain]))
    assert "<th>certificate</th>" in html
    assert "19 days left (until 2026-12-20), TLS 1.3, &lt;script&gt;Evil CA&lt;/script&gt;" in html
    assert "<script>Evil CA" not in html
