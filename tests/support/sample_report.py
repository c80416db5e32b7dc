"""A job view with every kind of row, for the report's browser test and the README screenshot.

Session 3 carries hostile page content (a title and console text with <script> and <img onerror>).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobcore.models import JobView

HOSTILE_TITLE = "Hi <script>alert('title')</script><img src=x onerror=alert('title-img')>"
HOSTILE_CONSOLE = "<script>alert('console')</script><img src=x onerror=\"alert('console-img')\">"


def sample_view() -> JobView:
    created = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    base = "https://shop.example.com"
    ok = {"status": "ok", "http_status": 200, "bytes_in": 48_000, "attempts": 1,
          "analytics": [{"vendor": "ga4", "id": "G-SHOP", "event": "page_view"}]}  # fmt: skip
    sessions = [
        {**ok, "index": 0, "url": f"{base}/", "timings_ms": {"queue_wait": 40, "ttfb": 90, "total": 820}},
        {**ok, "index": 1, "url": f"{base}/pricing",
         "timings_ms": {"queue_wait": 60, "ttfb": 110, "total": 940}},
        {"index": 2, "url": f"{base}/checkout", "status": "failed", "http_status": 200, "attempts": 1,
         "bytes_in": 61_000, "timings_ms": {"queue_wait": 55, "ttfb": 95, "total": 2300},
         "error": {"type": "step_failed", "message": "step 2 (click #pay): no element matches #pay"},
         "failure": {"step_index": 2, "step_action": "click", "last_url": f"{base}/checkout",
                     "last_http_status": 200, "last_console_error": "TypeError: cart is undefined"},
         "console_errors": ["TypeError: cart is undefined"],
         "artifacts": [{"name": "screenshot", "url": "2/screenshot.png", "bytes": 1000},
                       {"name": "har", "url": "2/session.har", "bytes": 9000},
                       {"name": "trace", "url": "2/trace.zip", "bytes": 90000}]},
        {"index": 3, "url": f"{base}/landing?utm=<b>x</b>", "status": "failed", "http_status": 200,
         "attempts": 1, "bytes_in": 12_000, "timings_ms": {"queue_wait": 80, "ttfb": 70, "total": 3600},
         "error": {"type": "analytics_not_detected", "message": "no analytics collector request was seen"},
         "failure": {"last_url": f"{base}/landing", "title": HOSTILE_TITLE, "last_http_status": 200,
                     "last_console_error": HOSTILE_CONSOLE},
         "console_errors": [HOSTILE_CONSOLE, "uncaught: Error: <img src=y onerror=alert('pageerror')>"],
         "artifacts": [{"name": "har", "url": "javascript:alert('href')", "bytes": 10},
                       {"name": "trace", "skipped": "past the job's cap of 524288000 bytes"}]},
        {"index": 4, "url": f"{base}/old", "status": "failed", "http_status": 404, "attempts": 1,
         "bytes_in": 3_000, "timings_ms": {"queue_wait": 90, "ttfb": 40, "total": 300},
         "error": {"type": "http_error", "message": "HTTP 404"}, "failure": {"last_http_status": 404}},
        {"index": 5, "url": f"{base}/later", "status": "cancelled"},
    ]  # fmt: skip
    return JobView.model_validate({
        "job_id": "01a22d6e6fb2322ee8187df2264df142", "status": "completed", "priority": "normal",
        "created_at": created, "started_at": created, "finished_at": created + timedelta(seconds=5),
        "labels": {"ci": "nightly"},
        "progress": {"total": 6, "queued": 0, "running": 0, "ok": 2, "failed": 3, "cancelled": 1},
        "sessions": sessions,
    })  # fmt: skip
