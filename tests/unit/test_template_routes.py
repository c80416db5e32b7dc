"""The local stack reads routes, the authorizer and schedules from the template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.cfn_yaml import TEMPLATE_PATH, loads
from tests.support.synthetic_template import SYNTHETIC
from traffic_tool.local.template_routes import (
    Route,
    TemplateError,
    allowed_methods,
    compile_path,
    find_route,
    load_authorizer,
    load_routes,
    load_schedules,
    rate_seconds,
)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(SYNTHETIC)
    return path


# ---- the YAML loader ----------------------------------------------------------------------------


def test_short_form_tags_become_long_forms() -> None:
    data = loads(
        """
        A: !Ref Thing
        B: !GetAtt Fn.Arn
        C: !Sub "arn:${AWS::Partition}:s3:::${Bucket}/*"
        D: !If [IsProd, 7, 1]
        E: !Select [0, !GetAZs ""]
        F: !Join [",", [!Ref X, !Ref Y]]
        G: !GetAtt [Rg, PrimaryEndPoint.Address]
        H: !Equals [!Ref Stage, prod]
        I: !Condition IsProd
        """
    )
    assert data["A"] == {"Ref": "Thing"}
    assert data["B"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert data["C"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"}
    assert data["D"] == {"Fn::If": ["IsProd", 7, 1]}
    assert data["E"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert data["F"] == {"Fn::Join": [",", [{"Ref": "X"}, {"Ref": "Y"}]]}
    assert data["G"] == {"Fn::GetAtt": ["Rg", "PrimaryEndPoint.Address"]}
    assert data["H"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert data["I"] == {"Condition": "IsProd"}


def test_dates_stay_strings() -> None:
    assert loads("AWSTemplateFormatVersion: 2010-09-09\n")["AWSTemplateFormatVersion"] == "2010-09-09"


def test_a_non_mapping_template_is_refused() -> None:
    with pytest.raises(ValueError, match="mapping"):
        loads("- a\n- b\n")


# ---- routes -------------------------------------------------------------------------------------


def test_routes_come_from_api_events_with_code_from_globals(synthetic: Path) -> None:
    # When the routes are read
    routes = {(r.method, r.path): r for r in load_routes(synthetic)}
    # Then each Api event is one route, method upper-cased, Handler inherited from Globals
    assert set(routes) == {
        ("GET", "/items"), ("GET", "/items/{item_id}"), ("GET", "/items/latest"),
        ("ANY", "/files/{proxy+}"), ("GET", "/ping"),
    }  # fmt: skip
    one = routes[("GET", "/items/{item_id}")]
    assert (one.function_logical_id, one.code_uri, one.handler, one.event_name) == (
        "ItemsFn", "functions/items/", "app.handler", "One",
    )  # fmt: skip


def test_auth_follows_the_default_authorizer_unless_the_event_says_none(synthetic: Path) -> None:
    routes = {r.path: r.auth for r in load_routes(synthetic)}
    assert routes["/ping"] is False
    assert routes["/items"] is True
    assert routes["/files/{proxy+}"] is True


def test_routes_without_a_default_authorizer_are_public(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f/
      Handler: m.h
      Events:
        Get: {Type: Api, Properties: {Path: /x, Method: get}}
"""
    )
    assert [r.auth for r in load_routes(path)] == [False]


def test_path_parameters_are_one_segment_and_greedy_ones_the_rest() -> None:
    assert compile_path("/jobs/{job_id}").match("/jobs/abc")
    assert not compile_path("/jobs/{job_id}").match("/jobs/abc/def")
    assert not compile_path("/jobs/{job_id}").match("/jobs/")
    greedy = Route("ANY", "/files/{proxy+}", "Fn", "f/", "m.h", auth=False)
    assert greedy.match("PUT", "/files/a/b/c") == {"proxy": "a/b/c"}


def test_find_route_prefers_static_segments_like_api_gateway(synthetic: Path) -> None:
    routes = load_routes(synthetic)
    latest = find_route(routes, "get", "/items/latest")
    assert latest is not None
    assert latest.route.path == "/items/latest"
    assert latest.path_parameters == {}
    one = find_route(routes, "GET", "/items/42")
    assert one is not None
    assert one.route.path == "/items/{item_id}"
    assert one.path_parameters == {"item_id": "42"}
    assert find_route(routes, "DELETE", "/items/42") is None
    assert find_route(routes, "GET", "/nowhere") is None


def test_allowed_methods_tell_404_from_405(synthetic: Path) -> None:
    routes = load_routes(synthetic)
    assert allowed_methods(routes, "/items/42") == ["GET"]
    assert allowed_methods(routes, "/nowhere") == []


def test_routes_are_frozen() -> None:
    route = Route("GET", "/x", "Fn", "f/", "m.h", auth=True)
    with pytest.raises(AttributeError):
        route.method = "POST"  # type: ignore[misc]


# ---- authorizer and schedules -------------------------------------------------------------------


def test_authorizer_is_the_default_authorizers_function(synthetic: Path) -> None:
    code_uri, handler = load_authorizer(synthetic)
    assert (code_uri, handler) == ("functions/auth/", "auth.handler")


def test_missing_authorizer_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: dev}\n")
    with pytest.raises(TemplateError, match="DefaultAuthorizer"):
        load_authorizer(path)


def test_a_route_to_code_that_is_not_local_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {Bucket: b, Key: k}
      Handler: m.h
      Events:
        Get: {Type: Api, Properties: {Path: /x, Method: get}}
"""
    )
    with pytest.raises(TemplateError, match="CodeUri"):
        load_routes(path)


def test_schedules_come_from_schedule_v2_events(synthetic: Path) -> None:
    schedules = {s.event_name: s for s in load_schedules(synthetic)}
    tick, nightly = schedules["Tick"], schedules["Nightly"]
    assert tick.logical_id == "ItemsFnTick"
    assert (tick.code_uri, tick.handler) == ("functions/items/", "app.handler")
    assert tick.input == '{"source": "schedule"}'
    assert tick.enabled is True
    assert tick.interval_s == 60.0
    assert nightly.enabled is False
    assert nightly.interval_s is None


def test_schedule_input_gets_the_schedulers_context_attributes(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f/
      Handler: m.h
      Events:
        Tick:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(5 minutes)
            Input: '{"at": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>",
              "n": "<aws.scheduler.attempt-number>", "arn": "<aws.scheduler.schedule-arn>"}'
"""
    )
    (tick,) = load_schedules(path)
    when = datetime(2025, 11, 27, 4, 5, 0, tzinfo=timezone(timedelta(hours=1)))
    assert tick.render_input(when, "exec-1", attempt=2) == {
        "at": "2025-11-27T03:05:00Z",
        "id": "exec-1",
        "n": "2",
        "arn": "arn:aws:scheduler:local:000000000000:schedule/default/FnTick",
    }


def test_a_schedule_without_input_sends_an_empty_event(synthetic: Path) -> None:
    nightly = next(s for s in load_schedules(synthetic) if s.event_name == "Nightly")
    assert nightly.render_input(datetime.now(UTC), "x") == {}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60.0), ("rate(5 minutes)", 300.0), ("rate(1 hour)", 3600.0),
     ("rate(2 days)", 172800.0), ("cron(0 * * * ? *)", None), ("at(2030-01-01T00:00:00)", None)],
)  # fmt: skip
def test_rate_seconds(expression: str, seconds: float | None) -> None:
    assert rate_seconds(expression) == seconds


# ---- the project's own template -----------------------------------------------------------------


def test_project_template_routes() -> None:
    routes = {(r.method, r.path): r for r in load_routes(TEMPLATE_PATH)}
    assert set(routes) >= {
        ("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/jobs/{job_id}"),
        ("DELETE", "/jobs/{job_id}"), ("GET", "/health"),
    }  # fmt: skip
    public = {("GET", "/health"), ("GET", "/swagger")}
    assert all(routes[key].auth is False for key in public)
    assert all(r.auth for key, r in routes.items() if key not in public)
    assert {(r.code_uri, r.handler) for r in routes.values()} == {
        ("functions/api/", "api_handler.lambda_handler")
    }


def test_project_template_authorizer() -> None:
    assert tuple(load_authorizer(TEMPLATE_PATH)) == (
        "functions/authorizer/",
        "authorizer_handler.lambda_handler",
    )


def test_project_template_schedules() -> None:
    schedules = {s.function_logical_id: s for s in load_schedules(TEMPLATE_PATH)}
    assert set(schedules) == {"ScalerFunction", "ReaperFunction", "ArchiverFunction", "NotifierFunction"}
    handlers = {s.handler.partition(".")[0] for s in schedules.values()}
    assert len(handlers) == 4  # module names must differ: the local stack imports them side by side
