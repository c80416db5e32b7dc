"""Where the tenants' token hashes come from: the tokens secret in AWS, the tokens setting locally."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from jobcore.settings import load_settings
from jobcore.tokens import hashed_token_map


def hashed_tokens() -> dict[str, str]:
    """{tenant: sha256(token)}. The secret is cached for tokens_cache_s by Powertools Parameters."""
    settings = load_settings()
    if settings.tokens_secret_name:
        raw = parameters.get_secret(settings.tokens_secret_name, max_age=settings.tokens_cache_s)
        data = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        return {str(tenant): str(digest).lower() for tenant, digest in data.items()}
    return hashed_token_map(settings.token_map)
