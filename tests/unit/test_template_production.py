"""The template's production readiness, one group of checks per fix (each failed on the
template before the fix): alarms that reach someone, a second stack that does not collide, a fleet
sized for the seed's load, a health check and a deployment alarm, rollback by digest, network
backstops for the browsers, the API edge, and the data's snapshots and retention."""

from __future__ import annotations

import json
import re
from typing import Any

from jobcore.scaling import FleetLoad, ScalerState, ScalingPolicy, decide
from tests.support.cfn_yaml import PROJECT_ROOT
from tests.unit.test_template import resources_of_type as of_type
from tests.unit.test_template import template

__all__ = ["template"]  # the module's fixture, shared

SEED_CONCURRENT_SESSIONS = 150  # the seed plan's load


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return found


def default(template: dict[str, Any], name: str) -> Any:
    return template["Parameters"][name]["Default"]


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    p = alarm["Properties"]
    metrics = (
        [p] if "MetricName" in p else [m["MetricStat"]["Metric"] for m in p["Metrics"] if "MetricStat" in m]
    )
    return [
        (m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])})
        for m in metrics
    ]


def alarms_on(template: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    found = []
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        for ns, name, dims in alarm_metrics(alarm):
            if (ns, name) == (namespace, metric):
                found.append(dims)
    return found


# ---- 1. alarms reach someone ----------------------------------------------------------------------


def test_the_alarm_topic_uses_a_key_cloudwatch_may_use(template: dict[str, Any]) -> None:
    key_ref = props(template, "AlarmTopic").get("KmsMasterKeyId")
    # the AWS-managed alias/aws/sns key cannot be used by CloudWatch: every alarm action fails silently
    assert key_ref != "alias/aws/sns"
    if key_ref is None:
        return  # no encryption also works
    key = template["Resources"][key_ref["Ref"]]
    assert key["Type"] == "AWS::KMS::Key"
    grants = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert grants, "the key policy does not let CloudWatch use the key"
    actions = {a for s in grants for a in s["Action"]}
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions


def test_prod_requires_an_alarm_endpoint(template: dict[str, Any]) -> None:
    rules = [
        r
        for r in template["Rules"].values()
        if r.get("RuleCondition") == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
        and any("AlarmEmail" in json.dumps(a["Assert"]) for a in r["Assertions"])
    ]
    assert rules, "no rule makes prod name an alarm endpoint"
    (assertion,) = rules[0]["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


FUNCTIONS = ["ApiFunction", "AuthorizerFunction", "ScalerFunction", "ReaperFunction", "ArchiverFunction"]


def test_the_missing_alarms_exist(template: dict[str, Any]) -> None:
    api_dims = {"ApiName": {"Fn::Sub": "${AWS::StackName}-jobs"}, "Stage": {"Ref": "Stage"}}
    assert api_dims in alarms_on(template, "AWS/ApiGateway", "5XXError")
    assert api_dims in alarms_on(template, "AWS/ApiGateway", "Latency")
    functions = {
        fn["Ref"]
        for m in ("Errors", "Throttles")
        for d in alarms_on(template, "AWS/Lambda", m)
        for fn in [d["FunctionName"]]
    }
    every = set(of_type(template, "AWS::Serverless::Function"))
    assert every <= functions, f"no error/throttle alarm for {every - functions}"
    for metric in ("Errors", "Throttles"):
        assert {d["FunctionName"]["Ref"] for d in alarms_on(template, "AWS/Lambda", metric)} >= every
    assert alarms_on(template, "ECS/ContainerInsights", "RunningTaskCount")
    assert alarms_on(template, "ECS/ContainerInsights", "DesiredTaskCount")
    for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "ReplicationLag"):
        assert alarms_on(template, "AWS/ElastiCache", metric), metric
    assert {"ScheduleGroup": {"Ref": "MaintenanceScheduleGroup"}} in alarms_on(
        template, "AWS/Scheduler", "TargetErrorCount"
    )


def test_every_alarm_notifies_the_topic(template: dict[str, Any]) -> None:
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_dashboard_shows_the_new_alarms_metrics(template: dict[str, Any]) -> None:
    (dashboard,) = of_type(template, "AWS::CloudWatch::Dashboard").values()
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
    shown = {(line[0], line[1]) for w in body["widgets"] for line in w["properties"].get("metrics", [])}
    wanted = {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("ECS/ContainerInsights", "DesiredTaskCount"),
        ("AWS/ElastiCache", "EngineCPUUtilization"),
        ("AWS/ElastiCache", "ReplicationLag"),
        ("AWS/Scheduler", "TargetErrorCount"),
    }
    assert wanted <= shown, wanted - shown
    lambda_lines = [
        line
        for w in body["widgets"]
        for line in w["properties"].get("metrics", [])
        if line[0] == "AWS/Lambda"
    ]
    assert len(lambda_lines) == 2 * len(of_type(template, "AWS::Serverless::Function"))


# ---- 2. a second stack does not collide -----------------------------------------------------------


def test_schedules_live_in_a_group_of_the_stack_s_own(template: dict[str, Any]) -> None:
    group = props(template, "MaintenanceScheduleGroup")
    assert template["Resources"]["MaintenanceScheduleGroup"]["Type"] == "AWS::Scheduler::ScheduleGroup"
    assert "${AWS::StackName}" in group["Name"]["Fn::Sub"]
    for resource in of_type(template, "AWS::Serverless::Function").values():
        for name, event in (resource["Properties"].get("Events") or {}).items():
            if event["Type"] == "ScheduleV2":
                assert event["Properties"].get("GroupName") == {"Ref": "MaintenanceScheduleGroup"}, name


def test_secrets_have_generated_names_and_are_passed_by_arn(template: dict[str, Any]) -> None:
    secrets = of_type(template, "AWS::SecretsManager::Secret")
    assert secrets
    for logical_id, secret in secrets.items():
        # a fixed name makes a re-created stack fail for the deleted secret's 30-day recovery window
        assert "Name" not in secret["Properties"], logical_id
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TRAFFIC_TOOL_REDIS_AUTH_SECRET_NAME"] == {"Ref": "RedisAuthSecret"}
    assert env["TRAFFIC_TOOL_TOKENS_SECRET_NAME"] == {"Ref": "TokensSecret"}
    (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
    task_env = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert task_env["TRAFFIC_TOOL_REDIS_AUTH_SECRET_NAME"] == {"Ref": "RedisAuthSecret"}
    assert "${AWS::StackName}/" not in json.dumps(template["Outputs"])


# ---- 3. the fleet carries the seed's load --------------------------------------------------------


def test_the_default_fleet_carries_the_seed_s_concurrency(template: dict[str, Any]) -> None:
    capacity = int(default(template, "MaxWorkers")) * int(default(template, "SessionsPerWorker"))
    assert capacity >= SEED_CONCURRENT_SESSIONS
    # memory: the per-session figure measured on real Chromium (43-45 MB PSS) leaves room for heavier pages
    per_session_mib = int(default(template, "WorkerMemory")) / int(default(template, "SessionsPerWorker"))
    assert per_session_mib >= 4 * 45


def test_a_burst_reaches_the_seed_s_load_within_five_minutes(template: dict[str, Any]) -> None:
    # the scaler's own policy with the template's defaults, one decision a minute, under a burst of
    # the seed's 150 sessions (what is not running waits)
    per_task = int(default(template, "SessionsPerWorker"))
    policy = ScalingPolicy(
        min_tasks=int(default(template, "MinWorkers")),
        max_tasks=int(default(template, "MaxWorkers")),
        max_step_out=int(default(template, "ScaleOutStep")),
        out_cooldown_s=float(default(template, "ScaleOutCooldownSeconds")),
        in_cooldown_s=float(default(template, "ScaleInCooldownSeconds")),
        idle_periods_to_scale_in=int(default(template, "ScaleInIdlePeriods")),
    )
    needed = -(-SEED_CONCURRENT_SESSIONS // per_task)
    current, state, minutes = policy.min_tasks, ScalerState(), 0
    while current < needed and minutes < 60:
        running = min(SEED_CONCURRENT_SESSIONS, current * per_task)
        load = FleetLoad(backlog=SEED_CONCURRENT_SESSIONS - running, running=running, task_capacity=per_task)
        decision = decide(current, load, state, policy, now=3600.0 + minutes * 60.0)
        current, state = decision.desired, decision.state
        minutes += 1
    assert current >= needed
    assert minutes <= 5, f"{minutes} minutes to reach {needed} tasks"


# ---- 4. the circuit breaker sees a failing worker ------------------------------------------------


def test_the_task_checks_the_worker_s_heartbeat(template: dict[str, Any]) -> None:
    (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    check = container["HealthCheck"]
    assert check["Command"] == ["CMD", "python", "-m", "worker.healthcheck"]  # heartbeat age, not pgrep
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["TRAFFIC_TOOL_HEARTBEAT_FILE"].startswith("/")
    assert check["StartPeriod"] >= 30


def test_a_failed_session_rate_alarm_rolls_the_deployment_back(template: dict[str, Any]) -> None:
    (service,) = of_type(template, "AWS::ECS::Service").values()
    config = service["Properties"]["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    alarms = config["Alarms"]
    assert alarms["Enable"] is True and alarms["Rollback"] is True
    (ref,) = alarms["AlarmNames"]
    alarm = template["Resources"][ref["Ref"]]
    names = {m for _, m, _ in alarm_metrics(alarm)}
    assert {"SessionsFailed", "SessionsStarted"} <= names


# ---- 5. rollback by digest -----------------------------------------------------------------------


def test_the_image_is_deployed_by_digest_and_recorded(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["WorkerImageUri"]["AllowedPattern"])
    digest = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/traffic-tool-worker@sha256:" + "ab" * 32
    assert pattern.fullmatch(digest)
    assert not pattern.fullmatch("123456789012.dkr.ecr.eu-west-1.amazonaws.com/traffic-tool-worker:latest")
    recorded = [
        r["Properties"]
        for r in of_type(template, "AWS::SSM::Parameter").values()
        if r["Properties"]["Value"] == {"Ref": "WorkerImageUri"}
    ]
    assert recorded, "the stack does not record the deployed digest"
    assert template["Outputs"]["WorkerImageParameterName"]["Value"] == {"Ref": "WorkerImageParameter"}


def test_one_init_process_the_task_s(template: dict[str, Any]) -> None:
    (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["ContainerDefinitions"][0]["LinuxParameters"]["InitProcessEnabled"] is True
    instructions = [
        line
        for line in (PROJECT_ROOT / "worker" / "Dockerfile").read_text().splitlines()
        if not line.startswith("#")
    ]
    # ECS's init is PID 1; a second one (tini as ENTRYPOINT) would only stand between it and the worker
    assert not any("tini" in line for line in instructions)


def test_the_image_is_headless_by_default_and_pinned() -> None:
    dockerfile = (PROJECT_ROOT / "worker" / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(?:--platform=(\S+)\s+)?\S+(?:\s+AS\s+(\S+))?", dockerfile, re.M)
    assert stages[0][0] == "linux/amd64"
    assert stages[-1][1] == "headless"  # the last stage is what `docker build` makes without --target
    assert {"headful", "headless"} <= {name for _, name in stages}
    base = dockerfile.split("FROM base AS headful")[0]
    assert "xvfb" not in base and not re.search(r"\bchromium=", base)  # headless: no full chromium, no Xvfb
    assert "chromium-headless-shell=${CHROMIUM_VERSION}" in base
    assert re.search(r"^ARG CHROMIUM_VERSION=\S+-\S+$", dockerfile, re.M)
    pin = re.search(r"^playwright==(\S+)", (PROJECT_ROOT / "worker" / "requirements.txt").read_text(), re.M)
    assert pin is not None
    assert f'"playwright=={pin.group(1)}"' in (PROJECT_ROOT / "pyproject.toml").read_text()
    # the build context: everything ignored but what the image copies
    ignored = [
        line
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert ignored[0] == "*"
    assert {"!pyproject.toml", "!layers/core/", "!worker/", "!cli/"} <= set(ignored)


def test_make_image_builds_amd64_and_push_makes_tags_immutable() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    image = makefile.split("\nimage:")[1].split("\n\n")[0]
    assert "--platform linux/amd64" in image
    assert "TAG ?= v$(VERSION)-" in makefile
    push = makefile.split("\npush:")[1].split("\n\n")[0]
    assert "IMMUTABLE" in push and "put-lifecycle-policy" in push
    assert "@$$(aws ecr describe-images" in push  # the URI it prints is by digest
    policy = json.loads((PROJECT_ROOT / "worker" / "ecr-lifecycle.json").read_text())
    assert policy["rules"]


# ---- 6. network backstops for the browsers --------------------------------------------------------


def test_workers_reach_redis_and_the_web_on_80_and_443_only(template: dict[str, Any]) -> None:
    inline = props(template, "WorkerSecurityGroup")["SecurityGroupEgress"]
    assert {(r["FromPort"], r["ToPort"]) for r in inline} == {(80, 80), (443, 443)}
    extra = [
        r["Properties"]
        for r in of_type(template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Ref": "WorkerSecurityGroup"}
    ]
    assert [(r["FromPort"], r["DestinationSecurityGroupId"]) for r in extra] == [
        (6379, {"Ref": "RedisSecurityGroup"})
    ]


def test_the_endpoint_accepts_only_the_function_and_worker_groups(template: dict[str, Any]) -> None:
    ingress = props(template, "EndpointSecurityGroup")["SecurityGroupIngress"]
    assert all("CidrIp" not in r for r in ingress)
    assert {r["SourceSecurityGroupId"]["Ref"] for r in ingress} == {
        "LambdaSecurityGroup",
        "WorkerSecurityGroup",
    }


def test_a_network_acl_fences_the_worker_subnets_off_the_vpc(template: dict[str, Any]) -> None:
    (service,) = of_type(template, "AWS::ECS::Service").values()
    subnets = [
        s["Ref"] for s in service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    ]
    associations = {
        r["Properties"]["SubnetId"]["Ref"]: r["Properties"]["NetworkAclId"]["Ref"]
        for r in of_type(template, "AWS::EC2::SubnetNetworkAclAssociation").values()
    }
    assert set(subnets) <= set(associations), "the worker subnets have no network ACL"
    (acl,) = {associations[s] for s in subnets}
    # the worker subnets hold nothing else: Redis and the functions stay outside the ACL's reach
    assert not set(subnets) & {s["Ref"] for s in props(template, "RedisSubnetGroup")["SubnetIds"]}
    entries = sorted(
        (e["Properties"] for e in of_type(template, "AWS::EC2::NetworkAclEntry").values()
         if e["Properties"]["NetworkAclId"] == {"Ref": acl}),
        key=lambda e: (e["Egress"], e["RuleNumber"]),
    )  # fmt: skip
    for egress in (True, False):
        rules = [e for e in entries if e["Egress"] is egress]
        deny = next(e for e in rules if e["RuleAction"] == "deny")
        assert deny["CidrBlock"] == {"Ref": "VpcCidr"}
        before = [e for e in rules if e["RuleNumber"] < deny["RuleNumber"]]
        assert before and all(e["RuleAction"] == "allow" and e["Protocol"] == 6 for e in before)
        after = [e for e in rules if e["RuleNumber"] > deny["RuleNumber"]]
        assert all(e["CidrBlock"] == "0.0.0.0/0" and e["Protocol"] == 6 for e in after)
    allowed_out = {
        (e["PortRange"]["From"], e["PortRange"]["To"])
        for e in entries
        if e["Egress"] and e["RuleAction"] == "allow"
    }
    assert allowed_out == {(6379, 6379), (443, 443), (80, 80)}


# ---- 7. the API edge -----------------------------------------------------------------------------


def test_the_api_logs_access_and_throttles_public_routes_far_below_the_job_routes(
    template: dict[str, Any],
) -> None:
    api = props(template, "JobApi")
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in api["AccessLogSetting"]["Format"]
    settings = {s["ResourcePath"]: s for s in api["MethodSettings"]}
    assert settings["/*"]["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRate"}
    for path in ("/~1health", "/~1swagger"):
        assert settings[path]["ThrottlingRateLimit"] == {"Ref": "PublicRouteThrottleRate"}, path
    assert default(template, "PublicRouteThrottleRate") * 10 <= default(template, "ApiThrottleRate")
    assert of_type(template, "AWS::ApiGateway::Account"), "access logs need the account's logging role"


def test_an_optional_waf_rate_rule(template: dict[str, Any]) -> None:
    assert default(template, "WafRateLimit") == 0
    acls = of_type(template, "AWS::WAFv2::WebACL")
    (acl,) = acls.values()
    assert acl["Condition"] == "HasWaf"
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == {"Ref": "WafRateLimit"}
    (association,) = of_type(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Condition"] == "HasWaf"


# ---- 8. data -------------------------------------------------------------------------------------


def test_redis_keeps_snapshots_and_has_a_maintenance_window(template: dict[str, Any]) -> None:
    group = template["Resources"]["RedisReplicationGroup"]
    assert group["DeletionPolicy"] == "Snapshot" and group["UpdateReplacePolicy"] == "Snapshot"
    p = group["Properties"]
    assert p["SnapshotRetentionLimit"] == {"Fn::If": ["IsProd", 7, 1]}
    assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", p["SnapshotWindow"])
    assert re.fullmatch(r"[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d", p["PreferredMaintenanceWindow"])


def test_the_archive_bucket_outlives_the_stack(template: dict[str, Any]) -> None:
    (bucket,) = of_type(template, "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
