"""EventBridge Scheduler (moto): one schedule per check in the stack's group, created, updated and
deleted as the API changes the check; and the template grants exactly the calls the code makes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import api_service
from jobcore import cold_start
from jobcore.check_schedules import EventBridgeSchedules
from tests.support.api_events import call
from tests.support.cfn_yaml import project_template
from tests.support.redis_server import RedisServer

GROUP = "tt-dev-checks"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:tt-dev-DispatchFunction"
ROLE = "arn:aws:iam::123456789012:role/tt-dev-CheckSchedulerRole"

# boto3 operation → the IAM action it needs
ACTIONS = {
    "CreateSchedule": "scheduler:CreateSchedule",
    "UpdateSchedule": "scheduler:UpdateSchedule",
    "DeleteSchedule": "scheduler:DeleteSchedule",
}


@pytest.fixture
def scheduler(aws: None) -> tuple[Any, list[str]]:
    client = boto3.client("scheduler")
    client.create_schedule_group(Name=GROUP)
    calls: list[str] = []
    client.meta.events.register("before-call.scheduler.*", lambda model, **_: calls.append(model.name))
    return client, calls


@pytest.fixture
def api_on_eventbridge(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, scheduler: tuple[Any, list[str]]
) -> Iterator[list[str]]:
    client, calls = scheduler
    for name, value in {
        "TRAFFIC_TOOL_REDIS_URL": redis_server.url,
        "TRAFFIC_TOOL_ALLOW_TARGETS": "127.0.0.1/32",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "TRAFFIC_TOOL_CHECK_SCHEDULE_GROUP": GROUP,
        "TRAFFIC_TOOL_DISPATCH_FUNCTION_ARN": TARGET,
        "TRAFFIC_TOOL_CHECK_SCHEDULER_ROLE_ARN": ROLE,
    }.items():
        monkeypatch.setenv(name, value)
    cold_start.reset()
    api_service.service().queue.r.flushall()
    api_service.check_plane().checks.schedules.client = client  # type: ignore[attr-defined]
    yield calls
    cold_start.reset()


def test_the_api_keeps_one_schedule_per_check_in_the_group(api_on_eventbridge: list[str]) -> None:
    client = boto3.client("scheduler")
    body = {
        "name": "home",
        "schedule": "cron(0/5 * * * ? *)",
        "job": {"sessions": [{"url": "http://127.0.0.1:9/"}]},
    }
    status, check = call("POST", "/checks", body=body)
    assert status == 201, check
    check_id = check["check_id"]
    schedule = client.get_schedule(Name=check_id, GroupName=GROUP)
    assert schedule["ScheduleExpression"] == "cron(0/5 * * * ? *)" and schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == TARGET and schedule["Target"]["RoleArn"] == ROLE
    payload = json.loads(schedule["Target"]["Input"])
    assert payload["check_id"] == check_id and payload["tenant"] == "tenant-a"
    assert payload["scheduled_time"] == "<aws.scheduler.scheduled-time>"  # the idempotency key's half

    assert (
        call("PATCH", f"/checks/{check_id}", body={"enabled": False, "schedule": "rate(10 minutes)"})[0]
        == 200
    )
    schedule = client.get_schedule(Name=check_id, GroupName=GROUP)
    assert (schedule["State"], schedule["ScheduleExpression"]) == ("DISABLED", "rate(10 minutes)")

    assert call("DELETE", f"/checks/{check_id}")[0] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_schedule(Name=check_id, GroupName=GROUP)
    assert set(api_on_eventbridge) == set(ACTIONS)


def test_deleting_a_schedule_twice_is_fine(scheduler: tuple[Any, list[str]]) -> None:
    client, _ = scheduler
    schedules = EventBridgeSchedules(GROUP, TARGET, ROLE, client)
    schedules.create("t", "c" * 32, "rate(5 minutes)", True)
    schedules.delete("c" * 32)
    schedules.delete("c" * 32)
    assert client.list_schedules(GroupName=GROUP)["Schedules"] == []


def statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    found = [
        s
        for policy in props.get("Policies", [])
        if isinstance(policy, dict)
        for s in (policy.get("Statement") or policy.get("PolicyDocument", {}).get("Statement") or [])
    ]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [str(a) for a in action] if isinstance(action, list) else [str(action)]


def test_the_template_grants_exactly_what_the_schedules_need() -> None:
    resources = project_template()["Resources"]
    group = resources["ChecksScheduleGroup"]
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    # Only the API function may touch schedules, only those three calls, only in the check group.
    granted = {
        name: [
            s for s in statements(r) if any(a.startswith(("scheduler:", "iam:PassRole")) for a in actions(s))
        ]
        for name, r in resources.items()
        if r["Type"] in ("AWS::Serverless::Function", "AWS::IAM::Role")
    }
    assert {name for name, found in granted.items() if found} == {"ApiFunction"}
    manage, pass_role = granted["ApiFunction"]
    assert set(manage["Action"]) == set(ACTIONS.values())
    assert manage["Resource"]["Fn::Sub"].endswith(":schedule/${ChecksScheduleGroup}/*")
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == {"Fn::GetAtt": ["CheckSchedulerRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    # The role the schedules run as may invoke the dispatcher and nothing else.
    role = resources["CheckSchedulerRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    [invoke] = statements(resources["CheckSchedulerRole"])
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == {"Fn::GetAtt": ["DispatchFunction", "Arn"]}
    # The dispatcher itself needs Redis only.
    assert resources["DispatchFunction"]["Properties"]["Policies"] == [
        {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "RedisAuthSecret"}}}
    ]
    env = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TRAFFIC_TOOL_CHECK_SCHEDULE_GROUP"] == {"Ref": "ChecksScheduleGroup"}
    assert env["TRAFFIC_TOOL_DISPATCH_FUNCTION_ARN"] == {"Fn::GetAtt": ["DispatchFunction", "Arn"]}


def test_the_notifier_publishes_to_its_own_topic_only() -> None:
    resources = project_template()["Resources"]
    assert resources["AlertsTopic"]["Type"] == "AWS::SNS::Topic"
    [publish] = [s for s in statements(resources["NotifierFunction"]) if "Sid" in s]
    assert (publish["Action"], publish["Resource"]) == ("sns:Publish", {"Ref": "AlertsTopic"})
