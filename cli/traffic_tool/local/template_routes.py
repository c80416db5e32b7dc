"""What the local stack needs to know from template.yaml: routes, the authorizer, schedules.

The local HTTP adapter and the local scheduler read them here rather than repeating them, so
the cloud and the local stack cannot drift apart. Only plain SAM forms are understood: `Api`
events on `AWS::Serverless::Function`s, an `AWS::Serverless::Api` with a `DefaultAuthorizer`
whose `FunctionArn` is `!GetAtt <Function>.Arn`, and `ScheduleV2` events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from traffic_tool.local.cfn_yaml import load_template

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"
NO_AUTHORIZER = "NONE"
ANY_METHOD = "ANY"

_PATH_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+?)(\+?)\}")
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


API_GATEWAY_AUTH_TTL_S = 300  # API Gateway's default authorizer cache TTL


class TemplateError(ValueError):
    """The template lacks something the local stack needs, or uses a form it cannot read."""


def compile_path(resource: str) -> re.Pattern[str]:
    """API Gateway's matching of a resource path: `{name}` is one segment, `{name+}` the rest."""
    parts: list[str] = []
    last = 0
    for m in _PATH_PARAM.finditer(resource):
        parts.append(re.escape(resource[last : m.start()]))
        name, greedy = m.group(1), m.group(2)
        group = re.sub(r"\W", "_", name)
        parts.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
        last = m.end()
    parts.append(re.escape(resource[last:]))
    return re.compile("^" + "".join(parts) + "$")


def _param_names(resource: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in _PATH_PARAM.finditer(resource))


@dataclass(frozen=True)
class Route:
    """One `Api` event: an HTTP method on a resource path, served by one function."""

    method: str  # upper case; "ANY" matches every method
    path: str  # the resource path as API Gateway names it, e.g. /jobs/{job_id}
    function_logical_id: str
    code_uri: str  # as written in the template, relative to its folder
    handler: str  # module.function
    auth: bool  # whether the authorizer runs first
    event_name: str = ""
    path_regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    # sort key, most specific first, as API Gateway prefers: static segments, then fewer greedy ones
    specificity: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once: the local adapter matches every request against every route
        object.__setattr__(self, "path_regex", compile_path(self.path))
        segments = [s for s in self.path.split("/") if s]
        static = sum(1 for s in segments if not _PATH_PARAM.fullmatch(s))
        greedy = sum(1 for s in segments if s.endswith("+}"))
        object.__setattr__(self, "specificity", (-static, greedy, 1 if self.method == ANY_METHOD else 0))

    def match_path(self, path: str) -> dict[str, str] | None:
        """The path parameters when `path` matches this resource, else None."""
        m = self.path_regex.match(path)
        if m is None:
            return None
        values = m.groups()
        return dict(zip(_param_names(self.path), values, strict=True))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when method and path both match, else None."""
        if self.method not in (method.upper(), ANY_METHOD):
            return None
        return self.match_path(path)


class RouteMatch(NamedTuple):
    route: Route
    path_parameters: dict[str, str]


def find_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway would pick for this request, or None."""
    for route in sorted(routes, key=lambda r: r.specificity):
        params = route.match(method, path)
        if params is not None:
            return RouteMatch(route, params)
    return None


def allowed_methods(routes: Iterable[Route], path: str) -> list[str]:
    """Methods some route serves on `path`: empty means no such resource (404), else 405 material."""
    return sorted({r.method for r in routes if r.match_path(path) is not None})


class FunctionCode(NamedTuple):
    code_uri: str
    handler: str


@dataclass(frozen=True)
class Schedule:
    """One `ScheduleV2` event."""

    logical_id: str  # the AWS::Scheduler::Schedule SAM generates: function id + event name
    event_name: str
    expression: str  # rate(…), cron(…) or at(…)
    function_logical_id: str
    code_uri: str
    handler: str
    input: str | None = None  # the event payload (JSON text), when the template sets one
    enabled: bool = True

    @property
    def interval_s(self) -> float | None:
        """Seconds between runs for a rate() expression; None for cron() and at()."""
        return rate_seconds(self.expression)

    def render_input(self, scheduled_time: datetime, execution_id: str, attempt: int = 1) -> dict[str, Any]:
        """The event EventBridge Scheduler would send: Input with its context attributes filled in."""
        if self.input is None:
            return {}
        arn = f"arn:aws:scheduler:local:000000000000:schedule/default/{self.logical_id}"
        values = {
            "<aws.scheduler.schedule-arn>": arn,
            "<aws.scheduler.scheduled-time>": scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "<aws.scheduler.execution-id>": execution_id,
            "<aws.scheduler.attempt-number>": str(attempt),
        }
        text = self.input
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        payload = json.loads(text)
        if not isinstance(payload, dict):
            raise TemplateError(f"{self.logical_id}: Input must be a JSON object")
        return payload


def rate_seconds(expression: str) -> float | None:
    m = _RATE.match(expression.strip())
    if m is None:
        return None
    return float(int(m.group(1)) * _UNIT_S[m.group(2).rstrip("s")])


# ---- reading the template --------------------------------------------------------------------------


def _resources(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError("the template has no Resources")
    return resources


def _props(resource: Mapping[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties") or {}
    if not isinstance(props, dict):
        raise TemplateError("Properties must be a mapping")
    return props


def _globals(template: Mapping[str, Any], section: str) -> dict[str, Any]:
    value = (template.get("Globals") or {}).get(section) or {}
    return value if isinstance(value, dict) else {}


def _function_code(template: Mapping[str, Any], logical_id: str) -> FunctionCode:
    resource = _resources(template).get(logical_id)
    if resource is None or resource.get("Type") != SERVERLESS_FUNCTION:
        raise TemplateError(f"{logical_id} is not an {SERVERLESS_FUNCTION} in the template")
    merged = {**_globals(template, "Function"), **_props(resource)}
    code_uri, handler = merged.get("CodeUri"), merged.get("Handler")
    if not isinstance(code_uri, str) or not code_uri:
        raise TemplateError(f"{logical_id}: CodeUri must be a local folder (a string), got {code_uri!r}")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must look like module.function, got {handler!r}")
    return FunctionCode(code_uri, handler)


def _functions(template: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for logical_id, resource in _resources(template).items():
        if isinstance(resource, dict) and resource.get("Type") == SERVERLESS_FUNCTION:
            yield logical_id, resource


def _events(resource: Mapping[str, Any], event_type: str) -> Iterable[tuple[str, dict[str, Any]]]:
    events = _props(resource).get("Events") or {}
    for name, event in events.items():
        if isinstance(event, dict) and event.get("Type") == event_type:
            yield name, event.get("Properties") or {}


def _ref(value: Any) -> str | None:
    """The logical id behind `!Ref X` or `!GetAtt X.Arn`, else None."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and isinstance(getatt[0], str):
            return getatt[0]
    return None


def _api_auth(template: Mapping[str, Any], api_id: str | None) -> dict[str, Any]:
    """The Auth block of the API an event attaches to (its RestApiId, else SAM's implicit API)."""
    if api_id is None:
        auth = _globals(template, "Api").get("Auth") or {}
    else:
        resource = _resources(template).get(api_id)
        if resource is None or resource.get("Type") != SERVERLESS_API:
            raise TemplateError(f"RestApiId {api_id} is not an {SERVERLESS_API} in the template")
        auth = _props(resource).get("Auth") or {}
    return auth if isinstance(auth, dict) else {}


def _route_needs_auth(template: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    event_auth = props.get("Auth") or {}
    authorizer = event_auth.get("Authorizer") if isinstance(event_auth, dict) else None
    if authorizer is not None:
        return bool(authorizer != NO_AUTHORIZER)
    return bool(_api_auth(template, _ref(props.get("RestApiId"))).get("DefaultAuthorizer"))


def routes_from(template: Mapping[str, Any]) -> list[Route]:
    routes: list[Route] = []
    for logical_id, resource in _functions(template):
        events = list(_events(resource, "Api"))
        if not events:
            continue
        code = _function_code(template, logical_id)
        for event_name, props in events:
            path, method = props.get("Path"), props.get("Method")
            if not isinstance(path, str) or not isinstance(method, str):
                raise TemplateError(f"{logical_id}.{event_name}: an Api event needs Path and Method strings")
            routes.append(
                Route(
                    method=method.upper(),
                    path=path,
                    function_logical_id=logical_id,
                    code_uri=code.code_uri,
                    handler=code.handler,
                    auth=_route_needs_auth(template, props),
                    event_name=event_name,
                )
            )
    return routes


def authorizer_from(template: Mapping[str, Any]) -> FunctionCode:
    found: list[FunctionCode] = []
    for logical_id, resource in _resources(template).items():
        if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_API:
            continue
        auth = _props(resource).get("Auth") or {}
        default = auth.get("DefaultAuthorizer")
        if not default or default == NO_AUTHORIZER:
            continue
        config = (auth.get("Authorizers") or {}).get(default)
        if not isinstance(config, dict):
            raise TemplateError(f"{logical_id}: DefaultAuthorizer {default} is not among its Authorizers")
        function_id = _ref(config.get("FunctionArn"))
        if function_id is None:
            raise TemplateError(f"{logical_id}: {default}.FunctionArn must be !GetAtt <Function>.Arn")
        found.append(_function_code(template, function_id))
    if not found:
        raise TemplateError(f"no {SERVERLESS_API} in the template has a DefaultAuthorizer")
    if len(set(found)) > 1:
        raise TemplateError("the APIs use different default authorizers; the local adapter serves one")
    return found[0]


def schedules_from(template: Mapping[str, Any]) -> list[Schedule]:
    schedules: list[Schedule] = []
    for logical_id, resource in _functions(template):
        events = list(_events(resource, "ScheduleV2"))
        if not events:
            continue
        code = _function_code(template, logical_id)
        for event_name, props in events:
            expression = props.get("ScheduleExpression")
            if not isinstance(expression, str):
                raise TemplateError(f"{logical_id}.{event_name}: ScheduleExpression must be a string")
            payload = props.get("Input")
            schedules.append(
                Schedule(
                    logical_id=f"{logical_id}{event_name}",
                    event_name=event_name,
                    expression=expression,
                    function_logical_id=logical_id,
                    code_uri=code.code_uri,
                    handler=code.handler,
                    input=payload if isinstance(payload, str) else None,
                    enabled=props.get("State", "ENABLED") != "DISABLED",
                )
            )
    return schedules


def load_routes(template_path: str | Path) -> list[Route]:
    """Every `Api` event of every function in the template."""
    return routes_from(load_template(template_path))


def load_authorizer(template_path: str | Path) -> FunctionCode:
    """(code_uri, handler) of the function behind the API's DefaultAuthorizer."""
    return authorizer_from(load_template(template_path))


def authorizer_cache_ttl(template_path: str | Path) -> int:
    """Seconds API Gateway caches the default authorizer's answer per token (Identity.ReauthorizeEvery)."""
    for resource in _resources(load_template(template_path)).values():
        if isinstance(resource, dict) and resource.get("Type") == SERVERLESS_API:
            auth = _props(resource).get("Auth") or {}
            config = (auth.get("Authorizers") or {}).get(auth.get("DefaultAuthorizer")) or {}
            every = (config.get("Identity") or {}).get("ReauthorizeEvery", API_GATEWAY_AUTH_TTL_S)
            return int(every)
    return API_GATEWAY_AUTH_TTL_S


def load_schedules(template_path: str | Path) -> list[Schedule]:
    """Every `ScheduleV2` event of every function in the template."""
    return schedules_from(load_template(template_path))


def load_function_code(template_path: str | Path, logical_id: str) -> FunctionCode:
    """(code_uri, handler) of one function, for functions no event names (the check dispatcher)."""
    return _function_code(load_template(template_path), logical_id)
