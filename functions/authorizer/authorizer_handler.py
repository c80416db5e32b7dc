"""TOKEN authorizer: `Authorization: Bearer <token>` → the tenant and its role (`tenant` or `operator`),
passed to the API in the context.

Missing or malformed header → "Unauthorized" (API Gateway answers 401);
a well-formed but unknown token → an explicit Deny (403).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

import authorizer_tokens
from jobcore import emf, metric_names
from jobcore.log_masking import masking_logger
from jobcore.tokens import identify, parse_bearer

logger = masking_logger()  # the Authorization header never reaches a log line
tracer = Tracer()
metrics = emf.new_metrics()


class UnauthorizedError(Exception):
    """API Gateway maps an authorizer failure with exactly this message to 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)  # type: ignore[untyped-decorator]  # Powertools: untyped
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    token = parse_bearer(event.authorization_token)
    if token is None:
        metrics.add_metric(name=metric_names.TOKENS_REFUSED, unit=MetricUnit.Count, value=1)
        raise UnauthorizedError()
    arn = event.parsed_arn
    principal = identify(token, authorizer_tokens.token_entries())
    tenant = principal.name if principal else None
    policy = APIGatewayAuthorizerResponse(
        principal_id=tenant or "anonymous",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"tenant": principal.name, "role": principal.role.value} if principal else None,
        partition=arn.partition,
    )
    # 0 on every allowed call too: the request panel's line stays continuous
    metrics.add_metric(
        name=metric_names.TOKENS_REFUSED, unit=MetricUnit.Count, value=1 if tenant is None else 0
    )
    if tenant is None:
        logger.info("token refused")
        policy.deny_all_routes()
    else:
        # The whole API, not just this method: API Gateway caches the policy across routes.
        policy.allow_all_routes()
    return policy.asdict()
