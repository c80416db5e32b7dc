"""Bearer tokens → principals (a tenant, maybe an operator). Tokens are kept only as SHA-256 hashes and
compared in constant time.

The tokens secret maps each name to its hash, or to {"hash", "role"} for a token with a role:
`{"acme": "<sha256>", "ops": {"hash": "<sha256>", "role": "operator"}}`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    TENANT = "tenant"  # its own jobs
    OPERATOR = "operator"  # its own jobs, and the fleet-wide routes (/fleet, /dead-letters)


@dataclass(frozen=True)
class TokenEntry:
    digest: str
    role: Role = Role.TENANT


@dataclass(frozen=True)
class Principal:
    name: str  # the tenant its jobs belong to
    role: Role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hashed_token_map(tokens: Mapping[str, str]) -> dict[str, str]:
    """{tenant: token} → {tenant: sha256(token)}, the form stored in the tokens secret."""
    return {tenant: hash_token(token) for tenant, token in tokens.items()}


def secret_entry(digest: str, role: Role) -> str | dict[str, str]:
    """A name's value in the tokens secret: the bare hash for a tenant, {"hash", "role"} otherwise."""
    return digest if role is Role.TENANT else {"hash": digest, "role": role.value}


def parse_token_entries(data: Mapping[str, object]) -> dict[str, TokenEntry]:
    """The tokens secret's JSON → {name: TokenEntry}; an entry of another shape is a ValueError."""
    entries: dict[str, TokenEntry] = {}
    for name, value in data.items():
        if isinstance(value, str):
            entries[str(name)] = TokenEntry(value.lower())
        elif isinstance(value, Mapping) and isinstance(value.get("hash"), str):
            entries[str(name)] = TokenEntry(str(value["hash"]).lower(), Role(value.get("role", Role.TENANT)))
        else:
            raise ValueError(f"tokens secret entry {name!r} is neither a hash nor {{hash, role}}")
    return entries


def local_token_entries(tokens: Mapping[str, str], operators: Iterable[str]) -> dict[str, TokenEntry]:
    """The local stack's `tenant=token` pairs, with the names listed as operators given that role."""
    ops = set(operators)
    return {
        name: TokenEntry(hash_token(token), Role.OPERATOR if name in ops else Role.TENANT)
        for name, token in tokens.items()
    }


def identify(token: str, entries: Mapping[str, TokenEntry]) -> Principal | None:
    """The principal whose token hash matches, comparing against every entry so timing says nothing."""
    digest = hash_token(token)
    found = None
    for name, entry in entries.items():
        if hmac.compare_digest(digest, entry.digest):
            found = Principal(name, entry.role)
    return found


def tenant_for_token(token: str, hashed: Mapping[str, str]) -> str | None:
    """The tenant whose token hash matches (roles aside)."""
    found = identify(token, {tenant: TokenEntry(digest) for tenant, digest in hashed.items()})
    return None if found is None else found.name


def parse_bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
