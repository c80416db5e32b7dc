"""Every EMF line the code writes, captured from the real handlers and the worker's metrics flush,
validates against the EMF specification (tests/fixtures/emf_schema.json plus the target-member rules),
and together they cover every metric in jobcore.metric_names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

import api_handler
import api_service
import archiver_handler
import authorizer_handler
import dispatch_handler
import notifier_handler
import reaper_handler
import scaler_backend
import scaler_handler
from jobcore import cold_start, metric_names
from jobcore.analytics_models import AnalyticsProblem, AnalyticsVerdict, ProblemType
from jobcore.constants import SessionStatus
from jobcore.errors import ErrorType
from jobcore.models import ErrorInfo, SessionCost, SessionResult, Timings
from tests.support.redis_server import RedisServer
from traffic_tool.local.lambda_runtime import LocalContext
from worker.session_metrics import SessionMetrics

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "emf_schema.json").read_text())
BUCKET = "emf-test-results"


class InMemoryCapacity:
    """The scaler's CapacityBackend, in memory (ECS in AWS, worker processes locally)."""

    def __init__(self) -> None:
        self.desired = 1

    def current(self) -> int:
        return self.desired

    def set_desired(self, count: int) -> None:
        self.desired = count


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    return data


@pytest.fixture
def handlers_env(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, aws: None) -> Iterator[None]:
    for name, value in {
        "TRAFFIC_TOOL_REDIS_URL": redis_server.url,
        "TRAFFIC_TOOL_ALLOW_TARGETS": "127.0.0.1/32",
        "TRAFFIC_TOOL_TOKENS": "tenant-a=tok-a",
        "TRAFFIC_TOOL_BUCKET": BUCKET,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    cold_start.reset()
    api_service.service().queue.r.flushall()
    scaler_backend.use_backend(InMemoryCapacity())
    yield
    cold_start.reset()
    scaler_backend.use_backend(None)


def emit_everything() -> None:
    ctx = LocalContext(function_name="Test")
    api_handler.lambda_handler(event("post_jobs"), ctx)
    api_handler.lambda_handler(event("health"), ctx)
    authorizer_handler.lambda_handler(event("authorizer"), ctx)
    denied = event("authorizer") | {"authorizationToken": "Bearer not-a-token"}
    authorizer_handler.lambda_handler(denied, ctx)
    scaler_handler.lambda_handler(event("scaler"), ctx)
    reaper_handler.lambda_handler(event("reaper"), ctx)
    archiver_handler.lambda_handler(event("archiver"), ctx)
    dispatch_handler.lambda_handler(event("dispatch"), ctx)
    notifier_handler.lambda_handler(event("notifier"), ctx)
    worker = SessionMetrics()
    worker.started(3)
    ok = SessionResult(
        index=0,
        url="http://x/",
        status=SessionStatus.OK,
        bytes_in=120_000,
        timings_ms=Timings(total=900, queue_wait=40),
        cost=SessionCost(cpu_s=0.3, wall_s=0.9, bytes=120_000, usd=1.2e-5),
    )
    worker.ended(ok, "tenant-a")
    for error in (ErrorType.NAVIGATION_TIMEOUT, ErrorType.PROXY_AUTH_FAILED):
        failed = ok.model_copy(
            update={
                "status": SessionStatus.FAILED,
                "error": ErrorInfo(type=error, message="m"),
                "bytes_in": 0,
                "analytics_verdict": AnalyticsVerdict(
                    ok=False, problems=[AnalyticsProblem(type=ProblemType.TAG_NOT_LOADED, message="m")]
                ),
            }
        )
        worker.ended(failed)
    worker.reaped(2)
    worker.flush()


def check_target_members(line: dict[str, Any]) -> None:
    """The spec's rules a JSON schema cannot state: every directive's names are root members."""
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(line.get(key), str), f"dimension {key} must be a string member"
        for metric in directive["Metrics"]:
            value = line.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100, metric["Name"]
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), metric["Name"]


@pytest.mark.usefixtures("handlers_env")
def test_every_emf_line_validates_against_the_specification(capsys: pytest.CaptureFixture[str]) -> None:
    emit_everything()
    out = capsys.readouterr().out.splitlines()
    lines = [json.loads(text) for text in out if text.startswith("{") and '"_aws"' in text]
    assert lines, "no EMF written"
    validator = jsonschema.Draft7Validator(SCHEMA)
    seen: set[str] = set()
    for line in lines:
        errors = [e.message for e in validator.iter_errors(line)]
        assert errors == [], (errors, line)
        check_target_members(line)
        for directive in line["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == metric_names.NAMESPACE
            assert all(metric_names.SERVICE_DIMENSION in s for s in directive["Dimensions"])
            seen |= {m["Name"] for m in directive["Metrics"]}
    assert line[metric_names.SERVICE_DIMENSION] == metric_names.SERVICE
    assert seen == set(metric_names.all_names())


def test_the_schema_rejects_what_the_specification_forbids() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    good = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["a"]],
            "Metrics": [{"Name": "M", "Unit": "Count"}]}]}, "a": "x", "M": 1}  # fmt: skip
    assert not list(validator.iter_errors(good))
    bad_unit = json.loads(json.dumps(good))
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Requests"
    no_timestamp = json.loads(json.dumps(good))
    del no_timestamp["_aws"]["Timestamp"]
    too_many_dims = json.loads(json.dumps(good))
    too_many_dims["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [[f"d{i}" for i in range(31)]]
    for broken in (bad_unit, no_timestamp, too_many_dims):
        assert list(validator.iter_errors(broken))
