"""Token roles (the tokens secret's two entry shapes, the local operators setting), the redrive request's
rules, and where the client commands find the local stack (.state/client.json, owner-only)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from jobcore import limits
from jobcore.operator_models import RedriveRequest
from jobcore.tokens import (
    Principal,
    Role,
    hash_token,
    identify,
    local_token_entries,
    parse_token_entries,
    secret_entry,
)
from traffic_tool.client_state import ClientState, read_client_state, resolve, write_client_state


def test_the_tokens_secret_holds_bare_hashes_for_tenants_and_hash_with_role_for_operators() -> None:
    secret = {"acme": hash_token("tok-acme"), "ops": secret_entry(hash_token("tok-ops"), Role.OPERATOR)}
    assert secret["acme"] == secret_entry(hash_token("tok-acme"), Role.TENANT)  # the old shape is kept
    entries = parse_token_entries(secret)
    assert identify("tok-acme", entries) == Principal("acme", Role.TENANT)
    assert identify("tok-ops", entries) == Principal("ops", Role.OPERATOR)
    assert identify("tok-other", entries) is None
    with pytest.raises(ValueError, match="'bad'"):
        parse_token_entries({"bad": {"role": "operator"}})
    with pytest.raises(ValueError, match="root"):
        parse_token_entries({"ops": {"hash": "ab", "role": "root"}})


def test_locally_only_the_names_listed_as_operators_get_the_role() -> None:
    entries = local_token_entries({"local": "t1", "ops": "t2"}, ["ops"])
    assert identify("t1", entries) == Principal("local", Role.TENANT)
    assert identify("t2", entries) == Principal("ops", Role.OPERATOR)


def test_a_redrive_names_ids_or_a_filter() -> None:
    assert RedriveRequest.model_validate({"ids": ["1-0"]}).ids == ["1-0"]
    assert RedriveRequest.model_validate({"reason": "timeout"}).limit == limits.DEFAULT_PAGE_SIZE
    for bad in (
        {},
        {"ids": []},
        {"ids": ["1-0"], "tenant": "a"},
        {"tenant": "a", "limit": 0},
        {"everything": True},
    ):
        with pytest.raises(ValidationError):
            RedriveRequest.model_validate(bad)


def test_the_client_state_is_owner_only_and_its_token_goes_only_to_its_own_url(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text("{}")
    path.chmod(0o644)  # a stale file readable by others keeps no such mode
    write_client_state(tmp_path, ClientState("http://127.0.0.1:8123", "secret-tok"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_client_state(tmp_path) == ClientState("http://127.0.0.1:8123", "secret-tok")
    assert resolve("", "", tmp_path) == ClientState("http://127.0.0.1:8123", "secret-tok")
    assert resolve("http://127.0.0.1:8123/", "", tmp_path).token == "secret-tok"
    assert resolve("", "mine", tmp_path) == ClientState("http://127.0.0.1:8123", "mine")
    assert resolve("https://api.example.test", "", tmp_path) == ClientState("https://api.example.test", "")
    assert resolve("", "", tmp_path / "none") == ClientState("http://127.0.0.1:8080", "")
