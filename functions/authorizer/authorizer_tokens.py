"""Where the token hashes and roles come from: the tokens secret in AWS, the tokens setting locally."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from jobcore.cold_start import once, settings
from jobcore.tokens import TokenEntry, local_token_entries, parse_token_entries


@once
def _local_entries() -> dict[str, TokenEntry]:
    return local_token_entries(settings().token_map, settings().operator_names)


def token_entries() -> dict[str, TokenEntry]:
    """{name: (sha256(token), role)}. The secret is cached for tokens_cache_s by Powertools Parameters."""
    if settings().tokens_secret_name:
        raw = parameters.get_secret(settings().tokens_secret_name, max_age=settings().tokens_cache_s)
        return parse_token_entries(json.loads(raw.decode() if isinstance(raw, bytes) else str(raw)))
    return _local_entries()
