"""Where the tenants' token hashes come from: the tokens secret in AWS, the tokens setting locally."""

from __future__ import annotations

import json
from functools import cache

from aws_lambda_powertools.utilities import parameters

from jobcore.settings import Settings, load_settings
from jobcore.tokens import hashed_token_map


@cache
def settings() -> Settings:
    """Read once per execution environment, like every setting."""
    return load_settings()


@cache
def _local_hashes() -> dict[str, str]:
    return hashed_token_map(settings().token_map)


def hashed_tokens() -> dict[str, str]:
    """{tenant: sha256(token)}. The secret is cached for tokens_cache_s by Powertools Parameters."""
    if settings().tokens_secret_name:
        raw = parameters.get_secret(settings().tokens_secret_name, max_age=settings().tokens_cache_s)
        data = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        return {str(tenant): str(digest).lower() for tenant, digest in data.items()}
    return _local_hashes()


def reset() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    _local_hashes.cache_clear()
