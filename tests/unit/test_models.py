"""The contract's models: limits from one place, errors that name the field, secrets that stay secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jobcore import limits
from jobcore.masking import mask_text, mask_url
from jobcore.models import JobRequest, SessionSpec
from jobcore.spec_secrets import join_secrets, split_secrets
from jobcore.tokens import hash_token, parse_bearer, tenant_for_token


def spec(**fields: object) -> dict[str, object]:
    return {"url": "https://example.test/", **fields}


def error_locs(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def test_defaults_follow_the_design() -> None:
    s = SessionSpec.model_validate(spec())
    assert s.block == ["image", "media", "font"]
    assert (s.timeout_s, s.wait_until, s.screenshot) == (limits.DEFAULT_TIMEOUT_S, "load", False)
    assert JobRequest.model_validate({"sessions": [spec()]}).priority == "normal"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"sessions": []}, "sessions"),
        ({"sessions": [spec()] * (limits.MAX_SESSIONS_PER_JOB + 1)}, "sessions"),
        (
            {"sessions": [spec(steps=[{"action": "wait", "ms": 1}] * (limits.MAX_STEPS_PER_SESSION + 1))]},
            "sessions.0.steps",
        ),
        ({"sessions": [spec(timeout_s=0)]}, "sessions.0.timeout_s"),
        ({"sessions": [spec(timeout_s=limits.MAX_TIMEOUT_S + 1)]}, "sessions.0.timeout_s"),
        ({"sessions": [{"url": "https://x.test/" + "a" * limits.MAX_URL_LENGTH}]}, "sessions.0.url"),
        ({"sessions": [{"url": "ftp://x.test/"}]}, "sessions.0.url"),
        ({"sessions": [spec(steps=[{"action": "teleport"}])]}, "sessions.0.steps.0"),
        ({"sessions": [spec(steps=[{"action": "click"}])]}, "sessions.0.steps.0.click.selector"),
        ({"sessions": [spec(block=["document"])]}, "sessions.0.block.0"),
        ({"sessions": [spec(proxy={"server": "ftp://p:1"})]}, "sessions.0.proxy.server"),
        ({"sessions": [spec(proxy={"server": "http://u:p@p:1"})]}, "sessions.0.proxy.server"),
        ({"sessions": [spec(expect={"status": 99})]}, "sessions.0.expect.status"),
        ({"sessions": [spec(viewport={"width": 10, "height": 10})]}, "sessions.0.viewport.width"),
        ({"sessions": [spec(locale="en_US; rm -rf")]}, "sessions.0.locale"),
        ({"sessions": [spec(unknown=1)]}, "sessions.0.unknown"),
        ({"sessions": [spec()], "labels": {f"k{i}": "v" for i in range(limits.MAX_LABELS + 1)}}, "labels"),
    ],
)
def test_invalid_input_names_the_field(body: dict[str, object], loc: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JobRequest.model_validate(body)
    assert loc in error_locs(caught.value)


def test_secrets_are_split_out_of_the_stored_spec_and_joined_back_for_the_worker() -> None:
    original = SessionSpec.model_validate(
        spec(
            url="https://u:url-secret@example.test/",
            proxy={"server": "http://p:3128", "username": "u", "password": "px-secret"},
        )
    )
    masked, secrets = split_secrets(original)
    assert "secret" not in masked and "u:***@" in masked
    restored = join_secrets(masked, secrets)
    assert restored.url == original.url
    assert restored.proxy is not None and restored.proxy.password is not None
    assert restored.proxy.password.get_secret_value() == "px-secret"
    assert split_secrets(SessionSpec.model_validate(spec()))[1] == ""


def test_masking_free_text() -> None:
    line = "GET http://bob:hunter2@127.0.0.1/ with Authorization: Bearer abc.def and proxy pw s3cret"
    masked = mask_text(line, ["s3cret"])
    assert "hunter2" not in masked and "abc.def" not in masked and "s3cret" not in masked
    assert mask_url("http://127.0.0.1/a?b=c") == "http://127.0.0.1/a?b=c"


def test_tokens_are_compared_as_hashes() -> None:
    hashed = {"a": hash_token("tok-a"), "b": hash_token("tok-b")}
    assert tenant_for_token("tok-b", hashed) == "b"
    assert tenant_for_token("tok-c", hashed) is None
    assert parse_bearer("Bearer  tok ") == "tok"
    assert parse_bearer("bearer tok") == "tok"
    assert parse_bearer("Basic tok") is None and parse_bearer(None) is None
