"""Secrets never leave the system: masked in stored specs, results, logs and archives."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<pw>[^/@\s]*)@")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def mask_url(url: str) -> str:
    """Replace the password of `user:pass@` in a URL with MASK; other URLs pass unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO_RE.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{user}:{MASK}@{host}", parts.path, parts.query, parts.fragment))


def mask_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Mask known secret values, URL passwords and bearer tokens in free text (log lines, messages)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _USERINFO_RE.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _BEARER_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)


def url_secrets(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


def mask_obj(value: Any, secrets: list[str] | tuple[str, ...] = ()) -> Any:
    """Mask secrets in every string of a JSON-like structure."""
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, list):
        return [mask_obj(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: mask_obj(v, secrets) for k, v in value.items()}
    return value
