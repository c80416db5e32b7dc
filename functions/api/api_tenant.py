"""The caller's tenant: only the authorizer's context names it; nothing the client sends can."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from jobcore.errors import JobNotFoundError


def tenant_of(event: BaseProxyEvent) -> str:
    context = event.request_context.authorizer.get_context()  # type: ignore[attr-defined]
    value = context.get("tenant")
    if not value:
        raise JobNotFoundError("?")  # no tenant means no jobs; never fall back to a header
    return str(value)
