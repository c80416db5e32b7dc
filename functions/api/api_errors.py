"""Domain exceptions → HTTP, in one place. Every error body is {"error": {"type", "message", "field"}}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from pydantic import BaseModel

from jobcore.errors import (
    AdmissionError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidRequestError,
    JobNotFoundError,
    OperatorRequiredError,
    StoreOutOfMemoryError,
    StoreUnavailableError,
    TargetBlockedError,
)
from jobcore.models import ApiError, ApiErrorBody

logger = Logger(child=True)

# Every status the API (or API Gateway in front of it) answers with, for the OpenAPI document.
ERROR_STATUSES: dict[int, str] = {
    400: "invalid input (the message names the field), or a target the egress guard refuses",
    401: "no bearer token, or an unknown one (answered by API Gateway)",
    403: "the authorizer denied the request (API Gateway), or an operator route got a tenant's token",
    404: "no such job for this tenant",
    409: "a request with the same Idempotency-Key is still being processed",
    413: "the request body is over the size limit",
    415: "the request body is not application/json",
    422: "the Idempotency-Key was used with another body",
    429: "the queue or the tenant's quota is full; see Retry-After",
    503: "the job store is unavailable or out of memory; nothing was changed; see Retry-After",
}
_GATEWAY_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}


def documented(
    status: int,
    model: type[BaseModel] | None,
    description: str,
    errors: tuple[int, ...],
    descriptions: dict[int, str] | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's responses: its success with its model, and each error it can answer with
    (`descriptions` overrides the wording of a status for routes that are not about jobs)."""
    # model None: a success with no body (204); an empty `content` keeps Powertools from adding one
    content: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = (
        {"application/json": {"model": model}} if model is not None else {}
    )
    out: dict[int, OpenAPIResponse] = {status: {"description": description, "content": content}}
    for code in errors:
        schema: OpenAPIResponse = {"description": (descriptions or {}).get(code, ERROR_STATUSES[code])}
        if code == 401:
            schema["content"] = {"application/json": {"schema": _GATEWAY_ERROR}}
        elif code == 403:  # API Gateway's deny, or our own refusal of a tenant on an operator route
            gateway_or_ours = {"anyOf": [_GATEWAY_ERROR, {"$ref": "#/components/schemas/ApiError"}]}
            schema["content"] = {"application/json": {"schema": gateway_or_ours}}
        else:
            schema["content"] = {"application/json": {"model": ApiError}}
        out[code] = schema
    return out


def error_response(
    status: int, type_: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    body = ApiError(error=ApiErrorBody(type=type_, message=message, field=field))
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(exclude_none=True),
        headers=headers,
    )


def proxy_error(status: int, type_: str, message: str, field: str | None = None) -> dict[str, Any]:
    """An error as an API Gateway proxy response, for answers given before the resolver runs."""
    body = ApiError(error=ApiErrorBody(type=type_, message=message, field=field))
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(exclude_none=True),
        "isBase64Encoded": False,
    }


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    """One readable line naming the first bad field, e.g. `sessions[0].url: Field required`."""
    if not errors:
        return "the request is invalid", None
    first = errors[0]
    loc = [part for part in first.get("loc", ()) if part not in ("body",)]
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    message = str(first.get("msg") or first.get("type") or "invalid value")
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    if first.get("type") == "missing" and not field:
        return "the request body is missing", None
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return (f"{field}: {message}{more}" if field else f"{message}{more}"), (field or None)


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        message, field = describe_validation(list(exc.errors()))
        return error_response(400, "invalid_request", message, field)

    @app.exception_handler(InvalidRequestError)
    def _invalid_other(exc: InvalidRequestError) -> Response[Any]:
        return error_response(400, "invalid_request", str(exc))

    @app.exception_handler(TargetBlockedError)
    def _blocked(exc: TargetBlockedError) -> Response[Any]:
        return error_response(400, "blocked_target", f"target refused: {exc.reason}")

    @app.exception_handler(OperatorRequiredError)
    def _forbidden(exc: OperatorRequiredError) -> Response[Any]:
        return error_response(403, "forbidden", str(exc))

    @app.exception_handler(JobNotFoundError)
    def _not_found(exc: JobNotFoundError) -> Response[Any]:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(IdempotencyConflictError)
    def _idem_conflict(exc: IdempotencyConflictError) -> Response[Any]:
        return error_response(422, "idempotency_key_reused", str(exc), "Idempotency-Key")

    @app.exception_handler(IdempotencyInProgressError)
    def _idem_busy(exc: IdempotencyInProgressError) -> Response[Any]:
        return error_response(409, "idempotency_in_progress", str(exc), headers={"Retry-After": "1"})

    @app.exception_handler(AdmissionError)
    def _admission(exc: AdmissionError) -> Response[Any]:
        retry = {"Retry-After": str(exc.retry_after_s)}
        return error_response(429, "too_many_sessions", str(exc), headers=retry)

    @app.exception_handler(StoreUnavailableError)
    def _unavailable(exc: StoreUnavailableError) -> Response[Any]:
        logger.error("job store unavailable", extra={"reason": str(exc)})
        return error_response(
            503,
            "unavailable",
            "the job store is unavailable; nothing was changed",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StoreOutOfMemoryError)
    def _out_of_memory(exc: StoreOutOfMemoryError) -> Response[Any]:
        # Redis runs with noeviction: it keeps every queued job and refuses new ones until memory frees up
        logger.error("job store out of memory", extra={"reason": str(exc)})
        return error_response(
            503,
            "store_out_of_memory",
            "the job store is out of memory; nothing was queued and nothing stored was evicted. "
            "Retry later, when running jobs have finished and been archived",
            headers={"Retry-After": "30"},
        )
