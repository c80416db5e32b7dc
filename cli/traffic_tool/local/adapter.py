"""The local HTTP adapter: API Gateway's part, played on one machine.

Each HTTP request becomes an API Gateway REST proxy event; the TOKEN authorizer
runs first where the template says so; the routes come from template.yaml and
are matched by template_routes.find_route, so the cloud and the local stack
cannot drift apart.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from traffic_tool.local.lambda_runtime import Handler, LocalContext, load_handler
from traffic_tool.local.request_body import RequestBodyError, read_body
from traffic_tool.local.template_routes import (
    Route,
    allowed_methods,
    authorizer_cache_ttl,
    find_route,
    load_authorizer,
    load_routes,
)

# API Gateway's own payload limit; our handler enforces the smaller contract limit itself.
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
STAGE = "local"
METRICS_PATH = "/metrics"  # Prometheus text, served by the adapter itself (not a route of the template)

# (status, content type, body) of the /metrics answer
MetricsSource = Callable[[], tuple[int, str, bytes]]


class LocalApi:
    """Routes, authorizer and handlers read from the template; `invoke` turns a request into a response."""

    def __init__(self, project_root: Path, template: str = "template.yaml") -> None:
        path = project_root / template
        self.routes: list[Route] = load_routes(path)
        self.handlers: dict[str, Handler] = {
            route.function_logical_id: load_handler(project_root, route.code_uri, route.handler)
            for route in self.routes
        }
        auth_code_uri, auth_handler = load_authorizer(path)
        self.authorizer = load_handler(project_root, auth_code_uri, auth_handler)
        # API Gateway caches an authorizer's policy per token for ReauthorizeEvery seconds; so do we.
        self.auth_ttl_s = authorizer_cache_ttl(path)
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._auth_lock = threading.Lock()
        self._environments: dict[str, threading.Lock] = {}

    def invoke(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        found = find_route(self.routes, method, parts.path)
        if found is None:
            if not allowed_methods(self.routes, parts.path):
                return _gateway_error(404 if parts.path else 400, "Missing Authentication Token")
            return _gateway_error(405, "Method Not Allowed")
        route, params = found
        authorizer_context: dict[str, Any] = {}
        if route.auth:
            denied, authorizer_context = self._authorize(method, parts.path, headers)
            if denied is not None:
                return denied
        event = self._event(route, method, parts.path, parts.query, params, headers, body)
        event["requestContext"]["authorizer"] = authorizer_context or None
        # One execution environment per function: Lambda hands it one event at a time, and the
        # handlers (Powertools' resolver keeps the current event on the app) rely on that.
        function = route.function_logical_id
        with self._environment(function):
            result = self.handlers[function](event, LocalContext(function_name=function))
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[k] = ", ".join(str(v) for v in values)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
        return int(result.get("statusCode", 502)), out_headers, data

    def _authorize(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[tuple[int, dict[str, str], bytes] | None, dict[str, Any]]:
        token = headers.get("authorization")
        if not token:
            return _gateway_error(401, "Unauthorized"), {}
        with self._auth_lock:
            cached = self._auth_cache.get(token)
        if cached is not None and cached[0] > time.monotonic():
            policy = cached[1]
        else:
            denied, policy = self._call_authorizer(method, path, token)
            if denied is not None:
                return denied, {}
            if self.auth_ttl_s > 0:
                with self._auth_lock:
                    if len(self._auth_cache) > 10_000:
                        self._auth_cache.clear()
                    self._auth_cache[token] = (time.monotonic() + self.auth_ttl_s, policy)
        statements = policy.get("policyDocument", {}).get("Statement", [])
        if not any(s.get("Effect") == "Allow" for s in statements):
            return _gateway_error(
                403, "User is not authorized to access this resource with an explicit deny"
            ), {}
        context = dict(policy.get("context") or {})
        context["principalId"] = policy.get("principalId")
        return None, context

    def _environment(self, function_name: str) -> threading.Lock:
        with self._auth_lock:
            return self._environments.setdefault(function_name, threading.Lock())

    def _call_authorizer(
        self, method: str, path: str, token: str
    ) -> tuple[tuple[int, dict[str, str], bytes] | None, dict[str, Any]]:
        event = {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": f"arn:aws:execute-api:local:000000000000:local/{STAGE}/{method}{path}",
        }
        try:
            with self._environment("AuthorizerFunction"):
                policy = self.authorizer(event, LocalContext(function_name="AuthorizerFunction"))
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return _gateway_error(401, "Unauthorized"), {}
            return _gateway_error(500, "Internal server error"), {}
        return None, dict(policy)

    def _event(
        self,
        route: Route,
        method: str,
        path: str,
        query: str,
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        qs = parse_qs(query, keep_blank_values=True)
        request_id = str(uuid.uuid4())
        try:
            text, b64 = body.decode(), False
        except UnicodeDecodeError:
            text, b64 = base64.b64encode(body).decode(), True
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in qs.items()} or None,
            "multiValueQueryStringParameters": qs or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{STAGE}{path}",
                "stage": STAGE,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "protocol": "HTTP/1.1",
                "accountId": "000000000000",
                "apiId": "local",
                "identity": {
                    "sourceIp": headers.get("x-forwarded-for", "127.0.0.1"),
                    "userAgent": headers.get("user-agent"),
                },
            },
            "body": text if body else None,
            "isBase64Encoded": b64,
        }


def _gateway_error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for the
    # delayed ACK (40 ms) before the body arrives.
    disable_nagle_algorithm = True
    server: LocalApiServer

    def _serve(self) -> None:
        try:
            body = read_body(self.headers, self.rfile, API_GATEWAY_MAX_BODY)
        except RequestBodyError as exc:
            status, headers, data = _gateway_error(exc.status, str(exc))
            self.close_connection = True  # the rest of the body was not read
        else:
            status, headers, data = self._answer(body)
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if (
            self.command == "GET"
            and self.server.metrics is not None
            and urlsplit(self.path).path == METRICS_PATH
        ):
            status, content_type, data = self.server.metrics()
            headers = {"Content-Type": content_type}
        else:
            lowered = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, headers, data = self.server.api.invoke(self.command, self.path, lowered, body)
            except Exception:  # a handler crash is a 502, as API Gateway would answer
                self.server.log_exception()
                status, headers, data = _gateway_error(502, "Internal server error")
        return status, headers, data

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers any method (TRACE, QUERY, …) with 403/405; http.server would say 501
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log:
            super().log_message(format, *args)


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        api: LocalApi,
        access_log: bool = False,
        metrics: MetricsSource | None = None,
        reuse_port: bool = False,
    ) -> None:
        # several processes may share the port (SO_REUSEPORT) only when asked: by default a port in
        # use is an error, not a silent split of the traffic with whoever holds it
        self.allow_reuse_port = reuse_port
        super().__init__(address, _RequestHandler)
        self.api = api
        self.access_log = access_log
        self.metrics = metrics

    def log_exception(self) -> None:
        import traceback

        traceback.print_exc()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"
