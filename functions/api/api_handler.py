"""The job API: parse → call jobcore → respond. Errors are mapped in api_errors."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

import api_artifacts
from api_tenant import tenant_of
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import api_service
import checks_routes
import operator_routes
from api_errors import documented, proxy_error, register_error_handlers
from jobcore import cold_start, emf, limits, metric_names
from jobcore.errors import StoreUnavailableError
from jobcore.fleet_totals import CountBuffer
from jobcore.json_nesting import nests_deeper_than
from jobcore.log_masking import masking_logger
from jobcore.models import HealthView, JobAccepted, JobList, JobRequest, JobView

logger = masking_logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)
app.include_router(operator_routes.router)  # /fleet, /dead-letters: operator tokens only
app.include_router(api_artifacts.router)
app.include_router(checks_routes.router)  # /checks and /webhooks
if cold_start.settings().enable_swagger:
    app.enable_swagger(path="/swagger", title="traffic-tool job API")

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the id POST /jobs returned")]


def oversized_body(event: dict[str, Any]) -> str | None:
    """Checked before routing: validation would otherwise parse a body of any size first."""
    body = event.get("body") or ""
    size = len(base64.b64decode(body)) if event.get("isBase64Encoded") else len(body.encode())
    if size > limits.MAX_BODY_BYTES:
        return f"the request body is {size} bytes; at most {limits.MAX_BODY_BYTES} bytes are accepted"
    return None


def undecodable_body(event: dict[str, Any]) -> str | None:
    """A body that is not UTF-8 cannot be JSON; validation would fail decoding it rather than answer."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(body).decode("utf-8")
        except (UnicodeDecodeError, ValueError):
            return "the request body is not valid UTF-8 JSON"
    return None


def unsupported_media_type(event: dict[str, Any]) -> str | None:
    """The API reads JSON only; another declared type would send validation down a parser it lacks."""
    if not event.get("body"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    declared = str(headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if declared == "application/json" or declared.endswith("+json"):
        return None
    return f"the request body must be application/json, not {declared[:80]}"


def too_deeply_nested(event: dict[str, Any]) -> str | None:
    """Validation's JSON parser recurses per level: 50,000 nested arrays would end in a RecursionError."""
    body = event.get("body") or ""
    text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
    if nests_deeper_than(text, limits.MAX_JSON_DEPTH):
        return f"the request body nests more than {limits.MAX_JSON_DEPTH} levels of arrays and objects"
    return None


# Checked in this order, and only until one answers: a 10 MB body is refused before it is decoded.
# (check, status, error type, the field the error names)
_BODY_CHECKS: tuple[tuple[Callable[[dict[str, Any]], str | None], int, str, str | None], ...] = (
    (oversized_body, 413, "body_too_large", None),
    (unsupported_media_type, 415, "unsupported_media_type", "Content-Type"),
    (undecodable_body, 400, "invalid_request", None),
    (too_deeply_nested, 400, "invalid_request", None),
)


def refused_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """The proxy answer for a body the API cannot read, or None when it can."""
    for check, status, error_type, field in _BODY_CHECKS:
        problem = check(event)
        if problem is not None:
            return proxy_error(status, error_type, problem, field)
    return None


_AUTH_ERRORS = (401, 403)
_READ_ERRORS = (400, *_AUTH_ERRORS, 404, 503)


def tenant() -> str:
    return tenant_of(app.current_event)


@app.post(
    "/jobs",
    summary="Submit a job",
    responses=documented(202, JobAccepted, "accepted", (400, *_AUTH_ERRORS, 409, 413, 415, 422, 429, 503)),
)
def create_job(
    request: Annotated[JobRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key")] = None,
) -> Response[JobAccepted]:
    accepted = api_service.service().submit(tenant(), request, idempotency_key)
    return Response(
        HTTPStatus.ACCEPTED,
        content_types.APPLICATION_JSON,
        accepted,
        headers={"Location": f"/jobs/{accepted.job_id}"},
    )


@app.get(
    "/jobs",
    summary="The tenant's recent jobs, newest first",
    responses=documented(200, JobList, "the page of jobs", (400, *_AUTH_ERRORS, 503)),
)
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE_SIZE)] = limits.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JobList:
    return api_service.service().list(tenant(), cursor, limit)


@app.get(
    "/jobs/<job_id>",
    summary="A job with its sessions' results",
    responses=documented(200, JobView, "the job", _READ_ERRORS),
)
def get_job(job_id: JobId) -> JobView:
    return api_service.service().get(tenant(), job_id)


@app.delete(
    "/jobs/<job_id>",
    summary="Cancel the sessions that have not started",
    responses=documented(200, JobView, "the job after cancelling", _READ_ERRORS),
)
def cancel_job(job_id: JobId) -> JobView:
    return api_service.service().cancel(tenant(), job_id)


@app.get(
    "/health",
    summary="Fleet-wide figures; 503 when the fleet cannot serve",
    responses={
        200: {"description": "the fleet can serve", "content": {"application/json": {"model": HealthView}}},
        503: {
            "description": "work waits with no live worker (the figures), or Redis is unreachable (an error)",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/HealthView"},
                            {"$ref": "#/components/schemas/ApiError"},
                        ]
                    }
                }
            },
        },
    },
)
def health() -> Response[HealthView]:
    view = api_service.health_store().health()  # Redis unreachable: StoreUnavailableError → 503
    status = HTTPStatus.OK if view.status == "ok" else HTTPStatus.SERVICE_UNAVAILABLE
    return Response(status, content_types.APPLICATION_JSON, view)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reply = refused_body(event)
    if reply is None:
        api_service.service().register_lambda_context(context)
        reply = app.resolve(event, context)
    count_request(int(reply.get("statusCode", 500)))
    return reply


REQUEST_COUNTS = CountBuffer()


def count_request(status: int) -> None:
    """ApiRequests by status class, as EMF and in the Redis totals (`top`, the local /metrics)."""
    status_class = emf.status_class(status)
    with emf.dimensioned(metric_names.STATUS_CLASS_DIMENSION, status_class) as metrics:
        metrics.add_metric(name=metric_names.API_REQUESTS, unit=MetricUnit.Count, value=1)
    with contextlib.suppress(StoreUnavailableError):  # a count lost while Redis is down; never the answer
        REQUEST_COUNTS.add(api_service.totals(), metric_names.API_REQUESTS, label=status_class)
