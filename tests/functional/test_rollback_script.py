"""scripts/rollback.sh picks the image deployed before the current one from the stack's SSM history,
run with the real AWS CLI against a moto server on loopback (--dry-run: CloudFormation's update and
ECS's waiters are AWS's, not moto's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.cfn_yaml import PROJECT_ROOT
from traffic_tool.local.moto_aws import LocalAws

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")

STACK, PARAM = "tt-rollback", "/tt-rollback/worker-image"
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/traffic-tool-worker@sha256:"
TEMPLATE = """
Resources:
  Placeholder:
    Type: AWS::SNS::Topic
Outputs:
  WorkerImageParameterName:
    Value: /tt-rollback/worker-image
"""


@pytest.fixture
def moto_env() -> Iterator[dict[str, str]]:
    aws = LocalAws().start()
    env = {**os.environ, **aws.env()}
    # moto's backends are per process, not per server: start each test from nothing
    urllib.request.urlopen(
        urllib.request.Request(f"{aws.endpoint}/moto-api/reset", method="POST"), timeout=10
    )
    env.pop("AWS_PROFILE", None)
    try:
        yield env
    finally:
        aws.stop()


def client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip


def deploy(env: dict[str, str], *digests: str) -> None:
    ssm = client(env, "ssm")
    for digest in digests:
        ssm.put_parameter(Name=PARAM, Value=REPO + digest * 64, Type="String", Overwrite=True)


def rollback(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "rollback.sh"), STACK, *args, "--dry-run"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_rollback_chooses_the_previous_digest(moto_env: dict[str, str]) -> None:
    client(moto_env, "cloudformation").create_stack(StackName=STACK, TemplateBody=TEMPLATE)
    deploy(moto_env, "a", "b", "c")
    run = rollback(moto_env)
    assert run.returncode == 0, run.stderr
    assert f"current:  {REPO}{'c' * 64}" in run.stdout
    assert f"rollback: {REPO}{'b' * 64}" in run.stdout


def test_a_redeployed_digest_is_skipped_and_a_first_deploy_has_nothing_to_roll_back_to(
    moto_env: dict[str, str],
) -> None:
    client(moto_env, "cloudformation").create_stack(StackName=STACK, TemplateBody=TEMPLATE)
    deploy(moto_env, "a")
    run = rollback(moto_env)
    assert run.returncode == 1 and "nothing to roll back to" in run.stderr
    deploy(moto_env, "b", "b")
    run = rollback(moto_env)
    assert run.returncode == 0, run.stderr
    assert f"rollback: {REPO}{'a' * 64}" in run.stdout


def test_a_tag_is_refused_a_digest_is_taken(moto_env: dict[str, str]) -> None:
    client(moto_env, "cloudformation").create_stack(StackName=STACK, TemplateBody=TEMPLATE)
    deploy(moto_env, "a", "b")
    assert rollback(moto_env, "repo/worker:latest").returncode == 1
    run = rollback(moto_env, REPO + "f" * 64)
    assert run.returncode == 0 and f"rollback: {REPO}{'f' * 64}" in run.stdout
