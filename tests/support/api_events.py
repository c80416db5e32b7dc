"""API Gateway proxy events for any route, shaped like the sample in events/get_job.json."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import api_handler
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
_ID = re.compile(r"^[0-9a-f]{32}$")


@cache
def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / "get_job.json").read_text())
    return data


def proxy_event(
    method: str, path: str, tenant: str = "tenant-a", body: Any = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """The event API Gateway sends for `method path` from `tenant` (path ids become {parameters})."""
    evt = copy.deepcopy(_sample())
    segments = path.strip("/").split("/")
    params: dict[str, str] = {}
    resource_parts = []
    for i, segment in enumerate(segments):
        if _ID.match(segment):
            name = "check_id" if segments[i - 1] == "checks" else "webhook_id"
            params[name] = segment
            resource_parts.append("{" + name + "}")
        else:
            resource_parts.append(segment)
    resource = "/" + "/".join(resource_parts)
    evt.update(
        resource=resource,
        path=path,
        httpMethod=method,
        pathParameters=params or None,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        body=None if body is None else json.dumps(body),
    )
    evt["requestContext"].update(
        resourcePath=resource,
        httpMethod=method,
        path=f"/dev{path}",
        authorizer={"tenant": tenant, "principalId": tenant},
    )
    if body is not None:
        evt["headers"]["Content-Type"] = "application/json"
    return evt


def call(
    method: str, path: str, tenant: str = "tenant-a", body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(status, decoded body) of the API function's answer."""
    reply = api_handler.lambda_handler(
        proxy_event(method, path, tenant, body, query), LocalContext(function_name="ApiFunction")
    )
    text = reply.get("body") or ""
    return int(reply["statusCode"]), json.loads(text) if text else None
