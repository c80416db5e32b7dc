"""The Lambda handlers driven with the sample events in events/, against a real Redis (moto for AWS)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import api_handler
import api_service
import authorizer_handler
from jobcore import cold_start
from jobcore.tokens import hash_token
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


@pytest.fixture
def env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TRAFFIC_TOOL_ALLOW_TARGETS", "127.0.0.1/32")
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS", "tenant-a=tok-a,tenant-b=tok-b")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    cold_start.reset()
    api_service.service().queue.r.flushall()
    yield
    cold_start.reset()


def call_api(evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    reply = api_handler.lambda_handler(evt, LocalContext(function_name="ApiFunction"))
    return reply["statusCode"], json.loads(reply["body"])


def with_job(name: str, job_id: str) -> dict[str, Any]:
    evt = event(name)
    evt["pathParameters"] = {"job_id": job_id}
    evt["path"] = evt["path"].rsplit("/", 1)[0] + f"/{job_id}"
    return evt


@pytest.mark.usefixtures("env")
def test_the_sample_events_drive_every_route() -> None:
    status, accepted = call_api(event("post_jobs"))
    assert status == 202 and accepted["status"] == "queued"
    job_id = accepted["job_id"]
    again_status, again = call_api(event("post_jobs"))  # same Idempotency-Key, same body
    assert (again_status, again["job_id"]) == (202, job_id)

    status, view = call_api(with_job("get_job", job_id))
    assert status == 200 and view["job_id"] == job_id and view["progress"]["total"] == accepted["sessions"]

    status, listed = call_api(event("list_jobs"))  # its cursor points before this job was made
    assert status == 200 and job_id not in [j["job_id"] for j in listed["jobs"]]
    first_page = event("list_jobs")
    first_page["queryStringParameters"].pop("cursor")
    first_page["multiValueQueryStringParameters"].pop("cursor", None)
    status, listed = call_api(first_page)
    assert status == 200 and job_id in [j["job_id"] for j in listed["jobs"]]

    status, cancelled = call_api(with_job("cancel_job", job_id))
    assert status == 200 and cancelled["status"] == "cancelled"

    status, health = call_api(event("health"))
    assert status == 200 and health["queue_depth"] == 0


@pytest.mark.usefixtures("env")
def test_the_operator_sample_events_drive_every_operator_route_and_a_tenant_gets_403() -> None:
    status, fleet = call_api(event("fleet"))
    assert status == 200 and fleet["health"]["queue_depth"] == 0
    status, page = call_api(event("list_dead_letters"))
    assert (status, page) == (200, {"dead_letters": [], "next_cursor": None})
    status, body = call_api(event("get_dead_letter"))
    assert status == 404 and body["error"]["type"] == "not_found"
    status, result = call_api(event("redrive_dead_letters"))
    assert status == 200 and result["requeued"] == 0 and result["outcomes"][0]["outcome"] == "gone"
    for name in ("fleet", "list_dead_letters", "get_dead_letter", "redrive_dead_letters"):
        evt = event(name)
        evt["requestContext"]["authorizer"] = {
            "tenant": "tenant-a",
            "role": "tenant",
            "principalId": "tenant-a",
        }
        status, body = call_api(evt)
        assert (status, body["error"]["type"]) == (403, "forbidden"), name


@pytest.mark.usefixtures("env")
def test_the_report_and_artifact_events() -> None:
    _, accepted = call_api(event("post_jobs"))
    evt = event("get_job_report")
    evt["pathParameters"] = {"job_id": accepted["job_id"]}
    evt["path"] = f"/jobs/{accepted['job_id']}/report"
    reply = api_handler.lambda_handler(evt, LocalContext(function_name="ApiFunction"))
    headers = {k: v[0] for k, v in (reply.get("multiValueHeaders") or {}).items()} | (
        reply.get("headers") or {}
    )
    assert reply["statusCode"] == 200 and headers["Content-Type"].startswith("text/html")
    assert f"<title>traffic-tool job {accepted['job_id']}</title>" in reply["body"]
    status, body = call_api(event("get_session_artifact"))  # a job this tenant does not have
    assert status == 404 and body["error"]["type"] == "not_found"
    evt = event("get_session_artifact")
    evt["pathParameters"]["job_id"] = accepted["job_id"]
    evt["path"] = f"/jobs/{accepted['job_id']}/sessions/1/artifacts/trace"
    status, body = call_api(evt)  # queued: nothing stored yet
    assert status == 404 and "has no stored trace" in body["error"]["message"]


@pytest.mark.usefixtures("env")
def test_the_tenant_comes_only_from_the_authorizer_context() -> None:
    _, accepted = call_api(event("post_jobs"))
    evt = with_job("get_job", accepted["job_id"])
    evt["requestContext"]["authorizer"] = {"tenant": "tenant-b", "principalId": "tenant-b"}
    evt["headers"]["X-Tenant"] = "tenant-a"
    status, _ = call_api(evt)
    assert status == 404
    evt["requestContext"]["authorizer"] = None
    status, _ = call_api(evt)
    assert status == 404


@pytest.mark.usefixtures("env")
def test_an_unknown_job_is_404_and_a_malformed_id_400() -> None:
    status, body = call_api(with_job("get_job", "0" * 32))
    assert status == 404 and body["error"]["type"] == "not_found"
    status, body = call_api(with_job("get_job", "not-a-hex-id"))
    assert status == 400 and "job_id" in body["error"]["message"]


@pytest.mark.usefixtures("env")
def test_redis_down_is_503_and_never_202(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAFFIC_TOOL_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    cold_start.reset()
    evt = event("post_jobs")
    evt["headers"].pop("Idempotency-Key")
    status, body = call_api(evt)
    assert status == 503 and body["error"]["type"] == "unavailable"
    status, body = call_api(event("post_jobs"))  # the idempotency layer cannot reach Redis either
    assert status == 503
    status, _ = call_api(event("health"))
    assert status == 503


def authorize(evt: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = authorizer_handler.lambda_handler(
        evt, LocalContext(function_name="AuthorizerFunction")
    )
    return reply


@pytest.mark.usefixtures("env")
def test_the_authorizer_allows_a_known_token_and_names_its_tenant() -> None:
    policy = authorize(event("authorizer"))
    assert policy["principalId"] == "tenant-a"
    assert policy["context"] == {"tenant": "tenant-a", "role": "tenant"}
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"][0].endswith("/dev/*/*")


@pytest.mark.usefixtures("env")
def test_the_authorizer_denies_an_unknown_token_and_rejects_a_missing_one() -> None:
    evt = event("authorizer")
    evt["authorizationToken"] = "Bearer not-a-token"
    policy = authorize(evt)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in policy or not policy["context"]
    for bad in ("", "Bearer ", "Basic dG9rLWE=", "tok-a"):
        evt["authorizationToken"] = bad
        with pytest.raises(authorizer_handler.UnauthorizedError, match=r"^Unauthorized$"):
            authorize(evt)


@mock_aws
def test_in_aws_the_authorizer_reads_token_hashes_from_secrets_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS", "")
    monkeypatch.setenv("TRAFFIC_TOOL_TOKENS_SECRET_NAME", "traffic-tool/tokens")
    cold_start.reset()
    boto3.client("secretsmanager").create_secret(
        Name="traffic-tool/tokens",
        SecretString=json.dumps(
            {"tenant-z": hash_token("tok-z"), "ops": {"hash": hash_token("tok-ops"), "role": "operator"}}
        ),
    )
    evt = copy.deepcopy(event("authorizer"))
    evt["authorizationToken"] = "Bearer tok-z"
    assert authorize(evt)["context"] == {"tenant": "tenant-z", "role": "tenant"}
    evt["authorizationToken"] = "Bearer tok-ops"
    assert authorize(evt)["context"] == {"tenant": "ops", "role": "operator"}
    evt["authorizationToken"] = "Bearer tok-a"  # a local token means nothing in AWS
    assert authorize(evt)["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    cold_start.reset()
