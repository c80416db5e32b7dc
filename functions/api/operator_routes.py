"""The operator routes: GET /fleet, GET /dead-letters[/{id}], POST /dead-letters/redrive.

A Powertools Router the API's resolver includes; only a token with the operator role passes (the
authorizer puts the role in its context), a tenant's token gets 403. Every change an operator makes
is an audit log line naming who and what.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

import api_service
from api_errors import documented
from jobcore import limits
from jobcore.cold_start import once
from jobcore.constants import DeadLetterReason
from jobcore.dead_letters import ENTRY_ID_PATTERN, DeadLetters
from jobcore.errors import DeadLetterNotFoundError, OperatorRequiredError
from jobcore.fleet_view import read_fleet
from jobcore.operator_models import DeadLetter, DeadLetterPage, FleetView, RedriveRequest, RedriveResult
from jobcore.tokens import Role

logger = Logger(child=True)
router = Router()  # type: ignore[no-untyped-call]  # Powertools: untyped __init__

_ERRORS = (400, 401, 403, 503)


def operator() -> str:
    """The operator's name, from the authorizer's context only; a tenant's token is refused."""
    event: APIGatewayProxyEvent = router.current_event  # type: ignore[assignment]  # the REST resolver's
    context = event.request_context.authorizer.get_context()
    if context.get("role") != Role.OPERATOR.value or not context.get("tenant"):
        raise OperatorRequiredError("this route is for operator tokens (traffic-tool token NAME --operator)")
    return str(context["tenant"])


@once
def dead_letters() -> DeadLetters:
    return DeadLetters(api_service.service().queue.r)


@router.get(
    "/fleet",
    summary="The fleet at a glance (operators): what `traffic-tool top` shows",
    responses=documented(200, FleetView, "the fleet's figures, read in one round trip", _ERRORS),
)
def fleet() -> FleetView:
    operator()
    return read_fleet(api_service.health_store().r)


@router.get(
    "/dead-letters",
    summary="Dead-lettered sessions of every tenant, newest first (operators)",
    responses=documented(200, DeadLetterPage, "a page of dead letters", _ERRORS),
)
def list_dead_letters(
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[DeadLetterReason | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE_SIZE)] = limits.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(pattern=ENTRY_ID_PATTERN)] = None,
) -> DeadLetterPage:
    operator()
    return dead_letters().page(tenant, reason, limit, cursor)


@router.get(
    "/dead-letters/<entry_id>",
    summary="One dead-lettered session (operators)",
    responses=documented(200, DeadLetter, "the dead letter", (*_ERRORS, 404)),
)
def get_dead_letter(entry_id: Annotated[str, Path(pattern=ENTRY_ID_PATTERN)]) -> DeadLetter:
    operator()
    found = dead_letters().get(entry_id)
    if found is None:
        raise DeadLetterNotFoundError(entry_id)
    return found


@router.post(
    "/dead-letters/redrive",
    summary="Re-queue dead-lettered sessions once each, attempts reset (operators)",
    responses=documented(200, RedriveResult, "what became of each entry", _ERRORS),
)
def redrive(request: Annotated[RedriveRequest, Body()]) -> RedriveResult:
    who = operator()
    store = dead_letters()
    ids = request.ids or store.matching_ids(request.tenant, request.reason, request.limit)
    result = store.redrive(ids)
    logger.info(
        "audit: dead letters redriven",
        extra={
            "audit": {
                "action": "redrive",
                "operator": who,
                "request": request.model_dump(mode="json", exclude_none=True),
                "requeued": [
                    f"{o.job_id}/{o.session_index}" for o in result.outcomes if o.outcome == "requeued"
                ],
                "refused": {o.id: o.outcome for o in result.outcomes if o.outcome != "requeued"},
            }
        },
    )
    return result
