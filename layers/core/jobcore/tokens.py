"""Bearer tokens → tenants. Tokens are kept only as SHA-256 hashes and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hashed_token_map(tokens: Mapping[str, str]) -> dict[str, str]:
    """{tenant: token} → {tenant: sha256(token)}, the form stored in the tokens secret."""
    return {tenant: hash_token(token) for tenant, token in tokens.items()}


def tenant_for_token(token: str, hashed: Mapping[str, str]) -> str | None:
    """The tenant whose token hash matches, comparing against every entry so timing says nothing."""
    digest = hash_token(token)
    found = None
    for tenant, expected in hashed.items():
        if hmac.compare_digest(digest, expected):
            found = tenant
    return found


def parse_bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
