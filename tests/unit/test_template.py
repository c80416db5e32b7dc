"""template.yaml keeps the promises DESIGN.md makes about the cloud deployment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerTokenEvent,
)

from jobcore.constants import ENV_PREFIX
from jobcore.models import JobRequest
from jobcore.settings import Settings
from tests.support.cfn_yaml import EVENTS_DIR, TEMPLATE_PATH, project_template
from traffic_tool.local.template_routes import find_route, load_routes, load_schedules

ROUTES = {
    ("POST", "/jobs"),
    ("GET", "/jobs"),
    ("GET", "/jobs/{job_id}"),
    ("DELETE", "/jobs/{job_id}"),
    ("GET", "/jobs/{job_id}/report"),
    ("GET", "/jobs/{job_id}/sessions/{index}/artifacts/{name}"),
    ("GET", "/health"),
}
PUBLIC_ROUTES = {("GET", "/health"), ("GET", "/swagger")}  # /swagger answers 404 unless enabled

# One sample event per route (`sam local invoke -e …`, the functional tests).
API_EVENTS = {
    "post_jobs.json": ("POST", "/jobs"),
    "list_jobs.json": ("GET", "/jobs"),
    "get_job.json": ("GET", "/jobs/{job_id}"),
    "cancel_job.json": ("DELETE", "/jobs/{job_id}"),
    "health.json": ("GET", "/health"),
    "get_job_report.json": ("GET", "/jobs/{job_id}/report"),
    "get_session_artifact.json": ("GET", "/jobs/{job_id}/sessions/{index}/artifacts/{name}"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return project_template()


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def only(template: dict[str, Any], type_: str) -> dict[str, Any]:
    found = resources_of_type(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    props: dict[str, Any] = next(iter(found.values()))["Properties"]
    return props


def api_events(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for function_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for name, event in (resource["Properties"].get("Events") or {}).items():
            if event["Type"] == "Api":
                yield function_id, name, event["Properties"]


# ---- Redis job plane -----------------------------------------------------------------------------


def test_parameter_group_never_evicts(template: dict[str, Any]) -> None:
    # Given the Redis parameter group
    group = only(template, "AWS::ElastiCache::ParameterGroup")
    # Then eviction is off: an evicted key is a lost job
    assert group["Properties"]["maxmemory-policy"] == "noeviction"
    assert group["CacheParameterGroupFamily"] == "redis7"


def test_replication_group_is_multi_az_with_replica_tls_and_auth(template: dict[str, Any]) -> None:
    rg = only(template, "AWS::ElastiCache::ReplicationGroup")
    assert rg["MultiAZEnabled"] is True
    assert rg["AutomaticFailoverEnabled"] is True
    assert rg["NumCacheClusters"] >= 2  # a primary and at least one replica
    assert rg["TransitEncryptionEnabled"] is True
    assert rg["AtRestEncryptionEnabled"] is True
    assert rg["CacheParameterGroupName"] == {"Ref": "RedisParameterGroup"}
    # the AUTH token is the Redis auth secret's `token`, resolved at deploy time, never a literal
    token = rg["AuthToken"]["Fn::Sub"]
    assert token == "{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}"
    secret = template["Resources"]["RedisAuthSecret"]["Properties"]["GenerateSecretString"]
    assert secret["GenerateStringKey"] == "token"
    assert secret["ExcludePunctuation"] is True


def test_redis_is_reachable_only_from_our_security_groups(template: dict[str, Any]) -> None:
    ingress = resources_of_type(template, "AWS::EC2::SecurityGroupIngress")
    to_redis = [
        r["Properties"]
        for r in ingress.values()
        if r["Properties"]["GroupId"] == {"Ref": "RedisSecurityGroup"}
    ]
    assert to_redis, "no ingress rule to Redis"
    for rule in to_redis:
        assert (rule["FromPort"], rule["ToPort"]) == (6379, 6379)
        assert "CidrIp" not in rule
        assert "SourceSecurityGroupId" in rule
    assert "SecurityGroupIngress" not in template["Resources"]["RedisSecurityGroup"]["Properties"]


def test_redis_url_uses_tls(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TRAFFIC_TOOL_REDIS_URL"]["Fn::Sub"].startswith("rediss://")


# ---- API ---------------------------------------------------------------------------------------


def test_every_route_exists_with_its_method(template: dict[str, Any]) -> None:
    routes = {(p["Method"].upper(), p["Path"]) for _, _, p in api_events(template)}
    assert routes >= ROUTES


def test_health_is_public_and_every_other_route_uses_the_default_authorizer(template: dict[str, Any]) -> None:
    api = template["Resources"]["JobApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "BearerAuthorizer"
    for _, name, props in api_events(template):
        assert props["RestApiId"] == {"Ref": "JobApi"}, name
        route = (props["Method"].upper(), props["Path"])
        if route in PUBLIC_ROUTES:
            assert props["Auth"] == {"Authorizer": "NONE"}, name
        else:
            # no per-route override: the default authorizer applies
            assert "Auth" not in props, name


def test_authorizer_is_a_token_authorizer_on_the_authorization_header(template: dict[str, Any]) -> None:
    config = template["Resources"]["JobApi"]["Properties"]["Auth"]["Authorizers"]["BearerAuthorizer"]
    assert config["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert config.get("FunctionPayloadType", "TOKEN") == "TOKEN"
    assert config["Identity"]["Header"] == "Authorization"


def test_api_function_runs_in_the_private_subnets(template: dict[str, Any]) -> None:
    vpc = template["Resources"]["ApiFunction"]["Properties"]["VpcConfig"]
    assert vpc["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert vpc["SecurityGroupIds"] == [{"Ref": "LambdaSecurityGroup"}]


# ---- code and configuration ---------------------------------------------------------------------


def test_core_layer_is_built_by_sam_for_python312(template: dict[str, Any]) -> None:
    layer = template["Resources"]["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert layer["Properties"]["ContentUri"] == "layers/core/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]


# Scaler settings the fleet-operations issue adds to jobcore.settings; drop each name once it lands.
PENDING_SETTINGS: set[str] = set()


def _environment_names(template: dict[str, Any]) -> set[str]:
    names = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in resources_of_type(template, "AWS::Serverless::Function").values():
        names |= set(((resource["Properties"].get("Environment") or {}).get("Variables")) or {})
    for resource in resources_of_type(template, "AWS::ECS::TaskDefinition").values():
        for container in resource["Properties"]["ContainerDefinitions"]:
            names |= {e["Name"] for e in container.get("Environment", [])}
    return names


def test_every_setting_in_the_template_is_a_settings_field(template: dict[str, Any]) -> None:
    # One place for each fact: a TRAFFIC_TOOL_* variable the settings model does not know is ignored.
    names = {
        n.removeprefix(ENV_PREFIX).lower() for n in _environment_names(template) if n.startswith(ENV_PREFIX)
    }
    assert {"redis_url", "redis_auth_secret_name", "tokens_secret_name", "allow_targets"} <= names
    unknown = names - set(Settings.model_fields) - PENDING_SETTINGS
    assert not unknown


def test_prod_has_no_egress_exemptions(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TRAFFIC_TOOL_ALLOW_TARGETS"] == {"Fn::If": ["IsProd", "", {"Ref": "AllowTargets"}]}


def test_every_parameter_is_described(template: dict[str, Any]) -> None:
    missing = [name for name, p in template["Parameters"].items() if not p.get("Description")]
    assert not missing


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties") or {}
        docs: list[Any] = []
        if resource["Type"] == "AWS::Serverless::Function":
            policies = props.get("Policies") or []
            docs += [
                p for p in (policies if isinstance(policies, list) else [policies]) if isinstance(p, dict)
            ]
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in props.get("Policies") or []]
        for doc in docs:
            statement = doc.get("Statement")
            for s in statement if isinstance(statement, list) else [statement] if statement else []:
                yield logical_id, s


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_grants_everything_on_everything(template: dict[str, Any]) -> None:
    for logical_id, s in _statements(template):
        if s.get("Effect") != "Allow":
            continue
        actions = _as_list(s.get("Action", []))
        resources = _as_list(s.get("Resource", []))
        assert not ("*" in actions and "*" in resources), logical_id
        assert not any(a in ("*", "*:*") for a in actions), f"{logical_id} allows every action"


# ---- fleet operations ---------------------------------------------------------------------------


def test_results_bucket_is_encrypted_private_and_expires(template: dict[str, Any]) -> None:
    bucket = only(template, "AWS::S3::Bucket")
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "ResultsRetentionDays"}
    assert template["Parameters"]["ResultsRetentionDays"]["Default"] == 30


def test_maintenance_functions_run_on_schedules(template: dict[str, Any]) -> None:
    schedules = {s.function_logical_id: s for s in load_schedules(TEMPLATE_PATH)}
    assert schedules["ScalerFunction"].interval_s == 60
    assert schedules["ReaperFunction"].interval_s == 60
    assert schedules["ArchiverFunction"].interval_s == 3600


def test_the_scaler_is_the_only_controller_of_the_desired_count(template: dict[str, Any]) -> None:
    service = only(template, "AWS::ECS::Service")
    # a DesiredCount in the template would reset the fleet on every stack update
    assert "DesiredCount" not in service
    assert not resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    (statement,) = template["Resources"]["ScalerFunction"]["Properties"]["Policies"][1]["Statement"]
    assert statement["Resource"] == {"Ref": "WorkerService"}


def test_workers_use_fargate_and_spot_unless_ec2_is_chosen(template: dict[str, Any]) -> None:
    strategy = only(template, "AWS::ECS::Service")["CapacityProviderStrategy"]["Fn::If"]
    assert strategy[0] == "UseEc2"
    assert {s["CapacityProvider"] for s in strategy[2]} == {"FARGATE", "FARGATE_SPOT"}
    assert template["Parameters"]["CapacityMode"]["AllowedValues"] == ["FARGATE", "EC2"]
    assert template["Parameters"]["Ec2InstanceType"]["Default"] == "t3.xlarge"


def test_worker_task_stops_gracefully_in_awsvpc(template: dict[str, Any]) -> None:
    task = only(template, "AWS::ECS::TaskDefinition")
    assert task["NetworkMode"] == "awsvpc"
    (container,) = task["ContainerDefinitions"]
    assert container["StopTimeout"] == 120
    assert container["Image"] == {"Ref": "WorkerImageUri"}


def test_worker_task_role_is_limited_to_its_bucket_prefix(template: dict[str, Any]) -> None:
    for logical_id, s in _statements(template):
        if logical_id != "WorkerTaskRole":
            continue
        for resource in _as_list(s["Resource"]):
            text = json.dumps(resource)
            assert text != '"*"'
            if any(a.startswith("s3:") for a in _as_list(s["Action"])):
                assert "/screenshots/*" in text or "/artifacts/*" in text


# ---- sample events -------------------------------------------------------------------------------


def test_every_route_has_a_sample_event() -> None:
    assert set(API_EVENTS.values()) == ROUTES
    for name in API_EVENTS:
        assert (EVENTS_DIR / name).is_file(), name


def _event_files() -> list[Path]:
    return sorted(EVENTS_DIR.glob("*.json"))


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_api_event_has_the_shape_api_gateway_sends(name: str) -> None:
    # Given a sample event
    raw = json.loads((EVENTS_DIR / name).read_text())
    method, resource = API_EVENTS[name]
    # When Powertools reads it as a REST proxy event
    event = APIGatewayProxyEvent(raw)
    # Then it has what API Gateway sends and names its route
    assert event.http_method == method
    assert event.resource == resource
    assert event.path.startswith("/")
    assert event.request_context.request_id
    assert event.request_context.stage == "dev"
    assert event.request_context.resource_path == resource
    assert event.request_context.http_method == method
    assert event.request_context.identity.source_ip
    assert raw["isBase64Encoded"] is False
    assert {k: [v] for k, v in raw["headers"].items()} == raw["multiValueHeaders"]
    authorizer = raw["requestContext"].get("authorizer")
    if (method, resource) in PUBLIC_ROUTES:
        assert authorizer is None
    else:
        assert authorizer == {"tenant": "tenant-a", "principalId": "tenant-a"}
        assert event.headers["Authorization"].startswith("Bearer ")


def test_every_proxy_event_matches_a_template_route() -> None:
    routes = load_routes(TEMPLATE_PATH)
    for path in _event_files():
        raw = json.loads(path.read_text())
        if "httpMethod" not in raw:
            continue
        assert "requestContext" in raw, path.name
        found = find_route(routes, raw["httpMethod"], raw["path"])
        assert found is not None, path.name
        assert found.route.path == raw["resource"], path.name
        assert found.path_parameters == (raw["pathParameters"] or {}), path.name


def test_post_jobs_event_carries_a_valid_job_and_an_idempotency_key() -> None:
    raw = json.loads((EVENTS_DIR / "post_jobs.json").read_text())
    job = JobRequest.model_validate_json(raw["body"])
    assert len(job.sessions) == 2
    assert all(s.url.startswith("http://127.0.0.1:8081/") for s in job.sessions)
    assert raw["headers"]["Idempotency-Key"]


def test_list_jobs_event_pages() -> None:
    raw = json.loads((EVENTS_DIR / "list_jobs.json").read_text())
    assert set(raw["queryStringParameters"]) == {"limit", "cursor"}


@pytest.mark.parametrize("name", ["scaler.json", "reaper.json", "archiver.json", "notifier.json"])
def test_schedule_events_are_what_the_scheduler_sends(name: str) -> None:
    raw = json.loads((EVENTS_DIR / name).read_text())
    assert set(raw) == {"schedule", "scheduled_time", "execution_id", "attempt"}
    assert not any("<aws.scheduler" in str(v) for v in raw.values())


def test_authorizer_event_is_a_token_event() -> None:
    raw = json.loads((EVENTS_DIR / "authorizer.json").read_text())
    event = APIGatewayAuthorizerTokenEvent(raw)
    assert event.get_type == "TOKEN"
    assert event.authorization_token.startswith("Bearer ")
    arn = event.parsed_arn
    assert (arn.stage, arn.http_method, arn.resource) == ("dev", "POST", "jobs")


def test_the_readme_describes_every_template_parameter(template: dict[str, Any]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in template["Parameters"] if f"| `{name}` |" not in readme]
    assert not missing, f"README.md's parameter table lacks {missing}"
