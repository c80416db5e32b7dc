"""template.yaml's dashboard and alarms against the code: every metric they name in our namespace is one
the code emits (with a dimension set it publishes), and every metric the code emits is on the dashboard
or behind an alarm. Emitted = metric_names constants passed to add_metric/single_metric (AST scan)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from jobcore import limits, metric_names
from jobcore.errors import ErrorType
from tests.support.cfn_yaml import project_template as read_template
from tests.support.emitted_metrics import emitted_in_source, emitted_metric_names


@cache
def project_template() -> dict[str, Any]:
    return read_template()


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in project_template()["Resources"].items() if v["Type"] == kind}


def dashboard_body() -> dict[str, Any]:
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body: dict[str, Any] = json.loads(re.sub(r"\$\{[^}]+\}", "placeholder", text))
    return body


def dashboard_references() -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, {dimension: value}) of every metric line of every widget."""
    refs = []
    for widget in dashboard_body()["widgets"]:
        for line in widget["properties"].get("metrics", []):
            fields = [f for f in line if not isinstance(f, dict)]
            namespace, metric, *pairs = fields
            refs.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return refs


def alarm_references() -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    refs: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for name, alarm in resources("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        metrics = (
            [props]
            if "MetricName" in props
            else [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
        )
        refs[name] = [
            (m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])})
            for m in metrics
        ]
    return refs


def ours(refs: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [r for r in refs if r[0] == metric_names.NAMESPACE]


def all_references() -> list[tuple[str, str, dict[str, Any]]]:
    return dashboard_references() + [r for refs in alarm_references().values() for r in refs]


def test_the_scan_finds_emitting_calls_and_ignores_other_uses() -> None:
    source = (
        "m.add_metric(name=metric_names.QUEUE_WAIT, unit='Milliseconds', value=1)\n"
        "with single_metric(metric_names.SESSIONS_OK, 'Count', 1): pass\n"
        "print(metric_names.JOBS_ARCHIVED)\n"
    )
    assert emitted_in_source(source) == {metric_names.QUEUE_WAIT, metric_names.SESSIONS_OK}


def test_the_code_emits_exactly_the_metrics_metric_names_defines() -> None:
    assert emitted_metric_names() == set(metric_names.all_names())


def test_the_dashboard_and_alarms_name_only_emitted_metrics_and_use_every_one() -> None:
    emitted = emitted_metric_names()
    referenced = {metric for _, metric, _ in ours(all_references())}
    assert referenced - emitted == set(), "the template names metrics the code never emits"
    assert emitted - referenced == set(), "the code emits metrics neither the dashboard nor an alarm uses"


def test_every_reference_uses_a_dimension_set_the_code_publishes() -> None:
    for _, metric, dims in ours(all_references()):
        assert dims.get(metric_names.SERVICE_DIMENSION) == metric_names.SERVICE, metric
        extra = frozenset(dims) - {metric_names.SERVICE_DIMENSION}
        assert extra in {frozenset(s) for s in metric_names.dimension_sets(metric)}, (metric, dims)
        if metric_names.ERROR_TYPE_DIMENSION in dims:
            assert ErrorType(dims[metric_names.ERROR_TYPE_DIMENSION])


def test_the_dashboard_shows_the_seed_panels_and_p95_duration_and_queue_wait() -> None:
    refs = dashboard_references()
    names = {metric for _, metric, _ in refs}
    seed = {
        metric_names.ACTIVE_SESSIONS,  # active sessions across instances
        metric_names.API_REQUESTS,  # request rate
        metric_names.BYTES_PER_SESSION,  # bandwidth per session
        metric_names.WORKER_COUNT,  # instance health
        metric_names.QUEUE_DEPTH,  # queue depth
        metric_names.SESSIONS_FAILED,  # errors by type
    }
    assert seed <= names
    error_types = {
        d.get(metric_names.ERROR_TYPE_DIMENSION) for _, m, d in refs if m == metric_names.SESSIONS_FAILED
    }
    assert {"navigation_timeout", "proxy_auth_failed", "analytics_not_detected"} <= error_types
    p95 = {
        line[1]
        for widget in dashboard_body()["widgets"]
        for line in widget["properties"]["metrics"]
        if isinstance(line[-1], dict) and line[-1].get("stat") == "p95"
    }
    assert {metric_names.SESSION_DURATION, metric_names.QUEUE_WAIT} <= p95


ALARM_TOPIC = "AlarmTopic"  # the operators' topic; AlertsTopic carries the tenants' check transitions


@pytest.mark.parametrize(
    ("metric", "threshold"),
    [
        ("ActiveSessions", 93),
        ("CPUUtilization", 80),
        (metric_names.BYTES_PER_SESSION, limits.BANDWIDTH_ALARM_BYTES),
        (metric_names.QUEUE_DEPTH, 500),
        (metric_names.FLEET_HEALTHY, 1),
        ("Evictions", 0),
        ("DatabaseMemoryUsagePercentage", 80),
        (metric_names.SESSIONS_DEAD_LETTERED, 0),
    ],
)
def test_the_issue_s_alarms_exist_and_notify_the_topic(metric: str, threshold: float) -> None:
    alarms = resources("AWS::CloudWatch::Alarm")
    matching = [n for n, refs in alarm_references().items() if metric in {m for _, m, _ in refs}]
    assert matching, f"no alarm on {metric}"
    (name,) = matching
    props = alarms[name]["Properties"]
    assert props["Threshold"] == threshold
    assert props["AlarmActions"] == [{"Ref": ALARM_TOPIC}]


def test_one_topic_with_an_optional_email_subscription() -> None:
    template = project_template()
    (subscription,) = resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_functions_and_the_worker_publish_into_the_dashboard_s_namespace() -> None:
    template = project_template()
    assert (
        template["Globals"]["Function"]["Environment"]["Variables"][metric_names.NAMESPACE_ENV]
        == metric_names.NAMESPACE
    )
    (task,) = resources("AWS::ECS::TaskDefinition").values()
    env = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert env[metric_names.NAMESPACE_ENV] == metric_names.NAMESPACE
