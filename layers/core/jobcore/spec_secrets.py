"""Split a SessionSpec into the masked form that is stored and shown, and the secrets the worker needs.

The secrets live in their own Redis hash, are handed only to the worker that
claims the session, and are deleted when the job ends; nothing else ever sees them.
"""

from __future__ import annotations

import json

from pydantic import SecretStr

from jobcore.masking import MASK, mask_url, url_secrets
from jobcore.models import SessionSpec


def split_secrets(spec: SessionSpec) -> tuple[str, str]:
    """(masked spec JSON, secrets JSON or '' when the spec holds none)."""
    secrets: dict[str, str] = {}
    masked = spec.model_dump(mode="json")
    if url_secrets(spec.url):
        secrets["url"] = spec.url
        masked["url"] = mask_url(spec.url)
    if spec.proxy is not None and spec.proxy.password is not None:
        secrets["proxy_password"] = spec.proxy.password.get_secret_value()
        masked["proxy"]["password"] = MASK
    return json.dumps(masked, separators=(",", ":")), (json.dumps(secrets) if secrets else "")


def join_secrets(masked_json: str, secrets_json: str) -> SessionSpec:
    """The spec as submitted, for the worker that runs it."""
    data = json.loads(masked_json)
    secrets = json.loads(secrets_json) if secrets_json else {}
    if "url" in secrets:
        data["url"] = secrets["url"]
    spec = SessionSpec.model_validate(data)
    if spec.proxy is not None:
        password = secrets.get("proxy_password")
        spec.proxy.password = SecretStr(password) if password is not None else None
    return spec


def secret_values(spec: SessionSpec) -> list[str]:
    """Every secret string of a spec, for masking free text (logs, error messages)."""
    values = url_secrets(spec.url)
    if spec.proxy is not None and spec.proxy.password is not None:
        values.append(spec.proxy.password.get_secret_value())
    return [v for v in values if v]
