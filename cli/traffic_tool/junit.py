"""A job as JUnit XML: one test case per session, so CI systems show the results natively."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from jobcore.models import JobView, SessionResult


def _case_name(session: SessionResult) -> str:
    parts = urlsplit(session.url)
    return f"#{session.index} {parts.netloc}{parts.path or '/'}"


def _failure_text(session: SessionResult) -> str:
    lines = [f"url: {session.url}", f"http status: {session.http_status}", f"attempts: {session.attempts}"]
    f = session.failure
    if f is not None:
        if f.step_index is not None:
            lines.append(f"failed step: {f.step_index} ({f.step_action})")
        lines += [f"last url: {f.last_url}", f"last http status: {f.last_http_status}"]
        if f.last_console_error:
            lines.append(f"last console error: {f.last_console_error}")
    for artifact in session.artifacts:
        where = artifact.url if artifact.url else f"skipped: {artifact.skipped}"
        lines.append(f"{artifact.name}: {where}")
    return "\n".join(lines)


def junit_xml(view: JobView) -> str:
    """The JUnit document (one <testsuite> of the job); XML escaping is ElementTree's."""
    failed = sum(1 for s in view.sessions if s.status == "failed")
    skipped = sum(1 for s in view.sessions if s.status not in ("ok", "failed"))
    seconds = sum((s.timings_ms.total or 0) for s in view.sessions) / 1000
    counts = {"tests": str(len(view.sessions)), "failures": str(failed), "errors": "0",
              "skipped": str(skipped), "time": f"{seconds:.3f}"}  # fmt: skip
    suites = ET.Element("testsuites", {"name": "traffic-tool", **counts})
    stamp = view.created_at.isoformat(timespec="seconds")
    suite = ET.SubElement(suites, "testsuite", {"name": f"job {view.job_id}", **counts, "timestamp": stamp})
    for session in view.sessions:
        took = f"{(session.timings_ms.total or 0) / 1000:.3f}"
        case = ET.SubElement(suite, "testcase", classname=f"traffic-tool.{view.job_id}",
                             name=_case_name(session), time=took)  # fmt: skip
        if session.status == "failed":
            error = session.error
            message = f"{error.type}: {error.message}" if error is not None else "failed"
            kind = str(error.type) if error is not None else "failed"
            ET.SubElement(case, "failure", message=message, type=kind).text = _failure_text(session)
        elif session.status != "ok":
            ET.SubElement(case, "skipped", message=f"session {session.status}")
        if session.console_errors:
            ET.SubElement(case, "system-out").text = "\n".join(session.console_errors)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
