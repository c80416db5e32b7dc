"""A job's evidence over HTTP: each artifact by redirect to a fresh presigned link, and the HTML report."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from api_tenant import tenant_of
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

import api_service
from api_errors import documented, error_response
from jobcore import limits
from jobcore.models import ApiError, ArtifactName, ArtifactRef, JobView
from jobcore.report import CSP, render_report, screenshot_of

logger = Logger(child=True)
router = Router()  # type: ignore[no-untyped-call]

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the id POST /jobs returned")]
Index = Annotated[int, Path(ge=0, lt=limits.MAX_SESSIONS_PER_JOB, description="the session's index")]
_ERRORS = (400, 401, 403, 404, 503)


def _errors() -> dict[int, Any]:
    """The error answers as every route documents them (ApiError bodies; the gateway's 401/403)."""
    return {code: body for code, body in documented(200, ApiError, "", _ERRORS).items() if code != 200}


@router.get(
    "/jobs/<job_id>/sessions/<index>/artifacts/<name>",
    summary="Redirect to a fresh short-lived link to one artifact of a session",
    responses={302: {"description": "Location: the presigned link"}, **_errors()},
)
def artifact(job_id: JobId, index: Index, name: Annotated[ArtifactName, Path()]) -> Response[str]:
    view = api_service.service().stored(tenant_of(router.current_event), job_id)
    ref = _artifact(view, index, name)
    if ref is None or ref.url is None:
        return error_response(404, "not_found", f"session {index} of job {job_id} has no stored {name}")
    headers = {"Location": api_service.presign(ref.url), "Cache-Control": "no-store"}
    return Response(HTTPStatus.FOUND, "text/plain", "", headers=headers)


@router.get(
    "/jobs/<job_id>/report",
    summary="The job's report: one self-contained HTML page",
    responses={200: {"description": "the report", "content": {"text/html": {}}}, **_errors()},
)
def report(job_id: JobId) -> Response[str]:
    view = api_service.service().stored(tenant_of(router.current_event), job_id)
    page = render_report(
        view, _screenshots(view), lambda _s, a: api_service.presign(a.url) if a.url else None
    )
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": CSP}
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", page, headers=headers)


def _artifact(view: JobView, index: int, name: str) -> ArtifactRef | None:
    session = next((s for s in view.sessions if s.index == index), None)
    return next((a for a in session.artifacts if a.name == name), None) if session is not None else None


def _screenshots(view: JobView) -> dict[int, bytes]:
    """Failed sessions' screenshots, embedded while they fit the answer's size limit."""
    store = api_service.archive()
    shots: dict[int, bytes] = {}
    left = limits.MAX_REPORT_EMBEDDED_BYTES
    for session in view.sessions:
        ref = screenshot_of(session)
        if store is None or ref is None or ref.url is None or ref.bytes > left:
            continue
        try:
            shots[session.index] = store.read_object(ref.url)
        except Exception as exc:  # a missing object: the report still renders, without that image
            logger.warning(
                "report of %s: screenshot of session %d unreadable: %s", view.job_id, session.index, exc
            )
            continue
        left -= len(shots[session.index])
    return shots
