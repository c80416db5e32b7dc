"""The OpenAPI document is generated from the models, never hand-written; Swagger UI only on request."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import api_handler
from jobcore import cold_start, limits
from traffic_tool.local.lambda_runtime import LocalContext


@pytest.fixture
def swagger_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("TRAFFIC_TOOL_ENABLE_SWAGGER", "true")
    cold_start.reset()
    yield importlib.reload(api_handler)
    monkeypatch.delenv("TRAFFIC_TOOL_ENABLE_SWAGGER")
    cold_start.reset()
    importlib.reload(api_handler)


CHECK_PATHS = {
    "/checks",
    "/checks/{check_id}",
    "/checks/{check_id}/run",
    "/webhooks",
    "/webhooks/{webhook_id}",
    "/webhooks/{webhook_id}/deliveries",
    "/webhooks/{webhook_id}/test",
}


def test_the_checks_routes_are_documented_with_their_models() -> None:
    doc = json.loads(api_handler.app.get_openapi_json_schema(title="traffic-tool"))
    assert set(doc["paths"]["/checks/{check_id}"]) == {"get", "patch", "delete"}
    schemas = doc["components"]["schemas"]
    for model in (
        "CheckRequest",
        "CheckView",
        "CheckRun",
        "WebhookRequest",
        "WebhookCreated",
        "DeliveryList",
    ):
        assert model in schemas
    assert "secret" not in schemas["WebhookView"]["properties"]
    assert "secret" in schemas["WebhookCreated"]["properties"]


def test_the_document_names_every_route_and_its_models() -> None:
    doc = json.loads(api_handler.app.get_openapi_json_schema(title="traffic-tool"))
    paths = doc["paths"]
    operator_paths = {"/fleet", "/dead-letters", "/dead-letters/{entry_id}", "/dead-letters/redrive"}
    evidence_paths = {"/jobs/{job_id}/report", "/jobs/{job_id}/sessions/{index}/artifacts/{name}"}
    assert set(paths) == {
        "/jobs",
        "/jobs/{job_id}",
        "/health",
        *operator_paths,
        *evidence_paths,
        *CHECK_PATHS,
    }
    assert set(paths["/jobs"]) == {"get", "post"}
    assert set(paths["/jobs/{job_id}"]) == {"get", "delete"}
    schemas = doc["components"]["schemas"]
    for model in ("JobRequest", "SessionSpec", "JobAccepted", "JobView", "SessionResult", "HealthView"):
        assert model in schemas
    for model in ("FleetView", "DeadLetterPage", "DeadLetter", "RedriveRequest", "RedriveResult"):
        assert model in schemas
    assert set(paths["/dead-letters/redrive"]) == {"post"}
    assert "403" in paths["/fleet"]["get"]["responses"]
    assert schemas["JobRequest"]["properties"]["sessions"]["maxItems"] == limits.MAX_SESSIONS_PER_JOB
    post = paths["/jobs"]["post"]
    assert any(p["name"] == "idempotency-key" and p["in"] == "header" for p in post["parameters"])


def get(module: ModuleType, path: str) -> int:
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "health.json").read_text())
    event.update(path=path, resource=path)
    event["requestContext"].update(resourcePath=path, path=path)
    status: int = module.app.resolve(event, LocalContext(function_name="ApiFunction"))["statusCode"]
    return status


def test_swagger_is_off_by_default() -> None:
    assert get(api_handler, "/swagger") == 404


def test_swagger_is_served_when_the_setting_enables_it(swagger_app: ModuleType) -> None:
    assert get(swagger_app, "/swagger") == 200


def test_the_document_describes_the_analytics_fields() -> None:
    schemas = json.loads(api_handler.app.get_openapi_json_schema(title="traffic-tool"))["components"][
        "schemas"
    ]
    result = schemas["SessionResult"]["properties"]
    for name in ("analytics", "analytics_dropped", "analytics_verdict", "web_vitals"):
        assert name in result, name
    assert "analytics_delivery" in schemas["SessionSpec"]["properties"]
    isolation = schemas["SessionSpec"]["properties"]["isolation"]
    assert isolation["enum"] == ["context", "tab"] and isolation["default"] == "context"
    assert {"analytics", "requests", "web_vitals"} <= set(schemas["Expect"]["properties"])
    for model in ("AnalyticsExpect", "EventRule", "ParamRule", "RequestRule", "WebVitalsBudget",
                  "AnalyticsHit", "AnalyticsVerdict", "AnalyticsProblem", "WebVitals"):  # fmt: skip
        assert model in schemas, model
    problem_types = schemas["ProblemType"]["enum"]
    assert "blocked_by_policy" in problem_types and "request_assertion" in problem_types
