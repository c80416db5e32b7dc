"""The /checks and /webhooks routes: parse → call jobcore's check plane → respond.

A Powertools Router, included by api_handler; same authorizer, same tenancy (another tenant's
check, webhook or delivery is 404), errors mapped here for the check plane's own exceptions.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

import api_service
from api_errors import documented, error_response
from jobcore.check_models import (
    CheckList,
    CheckPatch,
    CheckRequest,
    CheckRunAccepted,
    CheckView,
    DeliveryAccepted,
    DeliveryList,
    WebhookCreated,
    WebhookList,
    WebhookRequest,
)
from jobcore.errors import CheckNotFoundError, LimitReachedError, ScheduleBackendError, WebhookNotFoundError

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

CheckId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the id POST /checks returned")]
WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the id POST /webhooks returned")]

_AUTH = (401, 403)
_WORDS = {
    404: "no such check or webhook for this tenant",
    409: "the tenant has as many checks or webhooks as it may have",
    503: "the store or EventBridge Scheduler is unavailable; nothing was changed",
}
_WRITE = (400, *_AUTH, 404, 409, 413, 415, 503)
_READ = (400, *_AUTH, 404, 503)


def tenant() -> str:
    """Only the authorizer's context names the tenant; nothing the client sends can."""
    value = router.current_event.request_context.authorizer.get_context().get("tenant")
    if not value:
        raise CheckNotFoundError("?")
    return str(value)


def _json(status: HTTPStatus, body: Any, location: str | None = None) -> Response[Any]:
    headers = {"Location": location} if location else None
    return Response(status, content_types.APPLICATION_JSON, body, headers=headers)


# ---- checks --------------------------------------------------------------------------------------


@router.post(
    "/checks",
    summary="Create a recurring check",
    responses=documented(201, CheckView, "created", _WRITE, _WORDS),
)
def create_check(request: Annotated[CheckRequest, Body()]) -> Response[CheckView]:
    check = api_service.check_plane().checks.create(tenant(), request)
    return _json(HTTPStatus.CREATED, check, f"/checks/{check.check_id}")


@router.get(
    "/checks",
    summary="The tenant's checks",
    responses=documented(200, CheckList, "the checks", _READ, _WORDS),
)
def list_checks() -> CheckList:
    return api_service.check_plane().checks.list(tenant())


@router.get(
    "/checks/<check_id>",
    summary="A check with its state and last runs (newest first)",
    responses=documented(200, CheckView, "the check", _READ, _WORDS),
)
def get_check(check_id: CheckId) -> CheckView:
    return api_service.check_plane().checks.get(tenant(), check_id)


@router.patch(
    "/checks/<check_id>",
    summary="Change a check (pause and resume with `enabled`)",
    responses=documented(200, CheckView, "the check after the change", _WRITE, _WORDS),
)
def patch_check(check_id: CheckId, patch: Annotated[CheckPatch, Body()]) -> CheckView:
    return api_service.check_plane().checks.patch(tenant(), check_id, patch)


@router.delete(
    "/checks/<check_id>",
    summary="Delete a check and its schedule",
    responses=documented(204, None, "deleted (no body)", _READ, _WORDS),
)
def delete_check(check_id: CheckId) -> Response[None]:
    api_service.check_plane().checks.delete(tenant(), check_id)
    return Response(HTTPStatus.NO_CONTENT, None, None)


@router.post(
    "/checks/<check_id>/run",
    summary="Run a check now",
    responses=documented(202, CheckRunAccepted, "the run's job was queued", (*_READ, 429), _WORDS),
)
def run_check(check_id: CheckId) -> Response[CheckRunAccepted]:
    accepted = api_service.check_plane().checks.run_now(tenant(), check_id)
    return _json(HTTPStatus.ACCEPTED, accepted, f"/jobs/{accepted.job_id}")


# ---- webhooks ------------------------------------------------------------------------------------


@router.post(
    "/webhooks",
    summary="Register a webhook; the answer holds its signing secret, shown this once",
    responses=documented(201, WebhookCreated, "created", _WRITE, _WORDS),
)
def create_webhook(request: Annotated[WebhookRequest, Body()]) -> Response[WebhookCreated]:
    created = api_service.check_plane().webhooks.create(tenant(), request)
    return _json(HTTPStatus.CREATED, created, f"/webhooks/{created.webhook_id}")


@router.get(
    "/webhooks",
    summary="The tenant's webhooks (no secrets)",
    responses=documented(200, WebhookList, "the webhooks", _READ, _WORDS),
)
def list_webhooks() -> WebhookList:
    return api_service.check_plane().webhooks.list_all(tenant())


@router.delete(
    "/webhooks/<webhook_id>",
    summary="Delete a webhook; its pending deliveries are dead-lettered",
    responses=documented(204, None, "deleted (no body)", _READ, _WORDS),
)
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    api_service.check_plane().webhooks.delete(tenant(), webhook_id)
    return Response(HTTPStatus.NO_CONTENT, None, None)


@router.get(
    "/webhooks/<webhook_id>/deliveries",
    summary="The webhook's recent deliveries, newest first: pending, delivered and dead-lettered",
    responses=documented(200, DeliveryList, "the deliveries", _READ, _WORDS),
)
def list_deliveries(
    webhook_id: WebhookId,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
) -> DeliveryList:
    return api_service.check_plane().webhooks.deliveries(tenant(), webhook_id, status)


@router.post(
    "/webhooks/<webhook_id>/test",
    summary="Queue a signed test delivery",
    responses=documented(202, DeliveryAccepted, "queued", _READ, _WORDS),
)
def test_webhook(webhook_id: WebhookId) -> Response[DeliveryAccepted]:
    return _json(HTTPStatus.ACCEPTED, api_service.check_plane().webhooks.test(tenant(), webhook_id))


# ---- errors --------------------------------------------------------------------------------------


@router.exception_handler([CheckNotFoundError, WebhookNotFoundError])
def _not_found(exc: Exception) -> Response[Any]:
    return error_response(404, "not_found", str(exc))


@router.exception_handler(LimitReachedError)
def _limit(exc: LimitReachedError) -> Response[Any]:
    return error_response(409, "limit_reached", str(exc))


@router.exception_handler(ScheduleBackendError)
def _scheduler(exc: ScheduleBackendError) -> Response[Any]:
    return error_response(503, "scheduler_unavailable", str(exc), headers={"Retry-After": "5"})
