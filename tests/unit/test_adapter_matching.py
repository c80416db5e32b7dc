"""The local adapter picks routes with the one matcher (template_routes.find_route), as API Gateway
does: a static segment beats a parameter whatever the template's order, `{proxy+}` takes the rest of
the path, and a known path with another method is a 405, an unknown path a 404."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.synthetic_template import SYNTHETIC
from traffic_tool.local.adapter import LocalApi

ITEMS = """
import json

def handler(event, context):
    body = {"resource": event["resource"], "params": event["pathParameters"], "fn": context.function_name}
    return {"statusCode": 200, "body": json.dumps(body)}
"""

AUTH = """
def handler(event, context):
    allow = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}
    return {"principalId": "t", "policyDocument": allow, "context": {"tenant": "t"}}
"""

MODULES = ("app", "auth")  # the synthetic template's handler modules


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApi]:
    (tmp_path / "template.yaml").write_text(SYNTHETIC)
    for folder, module, code in (("items", "app", ITEMS), ("auth", "auth", AUTH)):
        (tmp_path / "functions" / folder).mkdir(parents=True)
        (tmp_path / "functions" / folder / f"{module}.py").write_text(code)
    monkeypatch.setattr(sys, "path", sys.path[:])  # load_handler adds the CodeUri folder
    for name in MODULES:
        assert name not in sys.modules, f"a module {name!r} is loaded already: the handlers would be it"
    yield LocalApi(tmp_path)
    for name in MODULES:
        sys.modules.pop(name, None)


def call(api: LocalApi, method: str, path: str) -> tuple[int, dict[str, object]]:
    status, _, body = api.invoke(method, path, {"authorization": "Bearer x"}, b"")
    return status, json.loads(body)


def test_a_static_segment_wins_over_a_parameter_listed_before_it(api: LocalApi) -> None:
    assert call(api, "GET", "/items/latest") == (
        200, {"resource": "/items/latest", "params": None, "fn": "ItemsFn"}
    )  # fmt: skip
    assert call(api, "GET", "/items/42?x=1") == (
        200, {"resource": "/items/{item_id}", "params": {"item_id": "42"}, "fn": "ItemsFn"}
    )  # fmt: skip


def test_a_greedy_parameter_takes_the_rest_of_the_path_for_any_method(api: LocalApi) -> None:
    status, body = call(api, "PUT", "/files/a/b/c")
    assert (status, body["params"]) == (200, {"proxy": "a/b/c"})


def test_a_known_path_with_another_method_is_405_and_an_unknown_path_404(api: LocalApi) -> None:
    assert call(api, "DELETE", "/items/42") == (405, {"message": "Method Not Allowed"})
    assert call(api, "GET", "/nowhere") == (404, {"message": "Missing Authentication Token"})
