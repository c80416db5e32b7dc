"""A job's report as one self-contained HTML page: the API's GET /jobs/{id}/report and `traffic-tool report`.

No external requests (inline CSS, screenshots as data URIs, no script at all: the filter and the
expandable rows are plain CSS and <details>), and a Content-Security-Policy that forbids script, so
nothing a page put in a title, a console line or a URL can run in the report. Every value is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from jobcore.models import ArtifactRef, JobView, SessionResult

# Links the report may carry: our presigned or API links, or files beside the report.
_SAFE_SCHEMES: Final = ("https://", "http://")
STATUSES: Final = ("ok", "failed", "cancelled", "queued", "running")
CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)

ArtifactLink = Callable[[SessionResult, ArtifactRef], str | None]

_CSS: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}.muted{color:#667}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:90px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e4e6ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st-ok{color:#17803d}.st-failed{color:#c0262d;font-weight:600}.st-cancelled{color:#a06a00}
.filters label{margin-right:12px;cursor:pointer}
details summary{cursor:pointer;color:#c0262d}
details img{max-width:480px;border:1px solid #ccd;margin:6px 0;display:block}
pre{white-space:pre-wrap;word-break:break-all;background:#f5f5f7;padding:6px;margin:4px 0;
max-height:240px;overflow:auto}
svg{background:#fff;border:1px solid #dde;border-radius:6px}
""" + "".join(f"body:has(#f-{s}:checked) tr.session:not(.status-{s}){{display:none}}" for s in STATUSES)


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _href(url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(_SAFE_SCHEMES) or ":" not in url.split("/", 1)[0]:
        return url
    return None  # javascript:, data:, s3:// … never become a link


def screenshot_of(session: SessionResult) -> ArtifactRef | None:
    """The screenshot a failed session's row shows, when one was stored."""
    if session.status != "failed":
        return None
    return next((a for a in session.artifacts if a.name == "screenshot" and a.url), None)


def percentile(values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value:,} ms"


def _summary(view: JobView) -> str:
    totals = [s.timings_ms.total for s in view.sessions if s.timings_ms.total is not None]
    bytes_in = sum(s.bytes_in for s in view.sessions)
    expecting = [s for s in view.sessions if s.status in ("ok", "failed")]
    with_hits = sum(1 for s in expecting if s.analytics)
    missing = sum(1 for s in view.sessions if s.error and s.error.type == "analytics_not_detected")
    p = view.progress
    cards = [
        ("sessions", p.total), ("ok", p.ok), ("failed", p.failed), ("cancelled", p.cancelled),
        ("p50", _ms(percentile(totals, 0.5))), ("p95", _ms(percentile(totals, 0.95))),
        ("bytes in", f"{bytes_in / 1024:,.1f} KB"), ("analytics seen", f"{with_hits}/{len(expecting)}"),
        ("analytics missing", missing),
    ]  # fmt: skip
    return '<div class="cards">' + "".join(
        f'<div class="card" data-card="{esc(k)}"><span class="muted">{esc(k)}</span><b>{esc(v)}</b></div>'
        for k, v in cards
    ) + "</div>"  # fmt: skip


def timeline_svg(view: JobView, width: int = 900) -> str:
    """One bar per session: queue wait (grey), then run time (coloured by status), on one time axis."""
    rows = view.sessions
    ends = [(s.timings_ms.queue_wait or 0) + (s.timings_ms.total or 0) for s in rows]
    span = max(ends, default=0) or 1
    left, bar, gap = 40, 10, 4
    height = 30 + len(rows) * (bar + gap)
    scale = (width - left - 10) / span
    colours = {"ok": "#2da44e", "failed": "#cf222e", "cancelled": "#bf8700"}
    parts = [f'<svg id="timeline" role="img" aria-label="session timeline" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left}" y="14" font-size="11" fill="#667">0 ms</text>',
             f'<text x="{width - 10}" y="14" font-size="11" fill="#667" text-anchor="end">'
             f"{span:,} ms</text>"]  # fmt: skip
    for row, s in enumerate(rows):
        y = 22 + row * (bar + gap)
        wait = (s.timings_ms.queue_wait or 0) * scale
        run = max(1.0, (s.timings_ms.total or 0) * scale)
        colour = colours.get(s.status, "#8c959f")
        parts.append(
            f'<text x="{left - 4}" y="{y + bar - 1}" font-size="10" text-anchor="end">#{s.index}</text>'
        )
        parts.append(
            f'<rect class="wait" x="{left}" y="{y}" width="{wait:.1f}" height="{bar}" fill="#d0d7de"/>'
        )
        title = f"#{s.index} {s.status}: wait {_ms(s.timings_ms.queue_wait)}, run {_ms(s.timings_ms.total)}"
        parts.append(
            f'<rect class="run" x="{left + wait:.1f}" y="{y}" width="{run:.1f}" height="{bar}" '
            f'fill="{colour}"><title>{esc(title)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _filters(view: JobView) -> str:
    present = [s for s in STATUSES if any(x.status == s for x in view.sessions)]
    radios = ['<label><input type="radio" name="status" id="f-all" checked> all</label>']
    radios += [f'<label><input type="radio" name="status" id="f-{s}"> {s}</label>' for s in present]
    return '<p class="filters">Show: ' + "".join(radios) + "</p>"


def _evidence(s: SessionResult, screenshots: Mapping[int, bytes], link: ArtifactLink) -> str:
    parts: list[str] = []
    if s.error is not None:
        parts.append(f"<p><b>{esc(s.error.type)}</b>: {esc(s.error.message)}</p>")
    f = s.failure
    if f is not None:
        facts = [("step", f"{f.step_index} ({f.step_action})" if f.step_index is not None else None),
                 ("page title", f.title), ("last URL", f.last_url), ("last HTTP status", f.last_http_status),
                 ("last console error", f.last_console_error)]  # fmt: skip
        parts.append("<ul>" + "".join(f"<li>{k}: {esc(v)}</li>" for k, v in facts if v is not None) + "</ul>")
    png = screenshots.get(s.index)
    if png:
        data = base64.b64encode(png).decode()
        parts.append(
            f'<img class="screenshot" alt="screenshot of session {s.index}" '
            f'src="data:image/png;base64,{data}">'
        )
    if s.console_errors:
        parts.append('<pre class="console">' + esc("\n".join(s.console_errors)) + "</pre>")
    links = []
    for a in s.artifacts:
        href = _href(link(s, a))
        if a.skipped:
            links.append(f"{esc(a.name)} (skipped: {esc(a.skipped)})")
        elif href:
            links.append(f'<a href="{esc(href)}" rel="noreferrer noopener">{esc(a.name)}</a>')
    if links:
        parts.append("<p>evidence: " + " · ".join(links) + "</p>")
    return "".join(parts)


def _certificate(s: SessionResult) -> str:
    """The main document's certificate in a few words: what a weekly expiry check looks at."""
    tls = s.tls
    if tls is None:
        return "-"
    issuer = f", {tls.issuer}" if tls.issuer else ""
    return f"{tls.days_left} days left (until {tls.valid_to.date().isoformat()}), {tls.protocol}{issuer}"


def _row(s: SessionResult, screenshots: Mapping[int, bytes], link: ArtifactLink) -> str:
    t = s.timings_ms
    analytics = ", ".join(" ".join(x for x in (h.vendor, h.id, h.event) if x) for h in s.analytics) or "-"
    if s.status == "failed":
        label = esc(s.error.type if s.error else "failed")
        error = f"<details><summary>{label}</summary>{_evidence(s, screenshots, link)}</details>"
    else:
        error = ""
    cells = [
        f'<td class="n">{s.index}</td>', f"<td>{esc(s.url)}</td>",
        f'<td class="st-{esc(s.status)}">{esc(s.status)}</td>',
        f'<td class="n">{esc(s.http_status or "-")}</td>',
        f'<td class="n">{esc(_ms(t.queue_wait))}</td>', f'<td class="n">{esc(_ms(t.ttfb))}</td>',
        f'<td class="n">{esc(_ms(t.total))}</td>', f'<td class="n">{s.bytes_in / 1024:,.1f} KB</td>',
        f"<td>{esc(_certificate(s))}</td>", f"<td>{esc(analytics)}</td>", f"<td>{error}</td>",
    ]  # fmt: skip
    return f'<tr class="session status-{esc(s.status)}" data-index="{s.index}">' + "".join(cells) + "</tr>"


def render_report(
    view: JobView,
    screenshots: Mapping[int, bytes] | None = None,
    link: ArtifactLink | None = None,
) -> str:
    """The report page. `screenshots`: PNG bytes by session index (embedded); `link`: an artifact's href."""
    shots = screenshots or {}
    linker: ArtifactLink = link or (lambda _s, a: a.url)
    labels = " ".join(f"{k}={v}" for k, v in view.labels.items())
    head = ["#", "page", "status", "HTTP", "queue wait", "TTFB", "total", "bytes", "certificate", "analytics",
            "error"]  # fmt: skip
    return "".join([
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>traffic-tool job {esc(view.job_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Job {esc(view.job_id)}</h1>",
        f'<p class="muted">{esc(view.status)} · created {esc(view.created_at.isoformat(timespec="seconds"))}'
        f"{' · finished ' + esc(view.finished_at.isoformat(timespec='seconds')) if view.finished_at else ''}"
        f"{' · ' + esc(labels) if labels else ''}</p>",
        _summary(view), "<h2>Timeline</h2>", timeline_svg(view), "<h2>Sessions</h2>", _filters(view),
        "<table id=\"sessions\"><thead><tr>", "".join(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>",
        "".join(_row(s, shots, linker) for s in view.sessions), "</tbody></table></body></html>",
    ])  # fmt: skip
