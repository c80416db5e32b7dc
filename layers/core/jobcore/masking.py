"""Secrets never leave the system: masked in stored specs, results, logs and archives.

A URL's credentials are masked as a component: the authority is split at its last `@` (as browsers
and `urllib.parse` split it) and the whole password, or the whole userinfo when it holds no password
(`http://TOKEN@host/`), becomes MASK. Known secret values are masked wherever they stand as a token;
never inside another word, where replacing a short secret would mangle the text (`http` with the
password `p`) and show which letters the secret is made of.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

MASK = "***"

# A URL's scheme and authority: the authority ends where WHATWG ends it for http(s) (`/ ? # \`).
_AUTHORITY_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^\s/?#\\]*)")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# A secret this long does not occur inside another word by chance: masked wherever it appears, even
# glued to other characters (`%22secret`); a shorter one only where it stands alone.
_SUBSTRING_MIN = 8


def _split_userinfo(authority: str) -> tuple[str, str | None, str] | None:
    """(user, password or None, host) of an authority that holds credentials, else None."""
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return user, (password if colon else None), host


def _masked_authority(authority: str) -> str:
    parts = _split_userinfo(authority)
    if parts is None:
        return authority
    user, password, host = parts
    # the username stays readable beside a password; alone (or beside an empty one) it is the credential
    return f"{user}:{MASK}@{host}" if password else f"{MASK}@{host}"


def _mask_urls(text: str) -> str:
    return _AUTHORITY_RE.sub(lambda m: m["scheme"] + _masked_authority(m["authority"]), text)


def mask_url(url: str) -> str:
    """The URL with its credentials masked (`user:***@` or `***@`); other URLs pass unchanged."""
    return _mask_urls(url)


def _secret_re(secret: str) -> re.Pattern[str]:
    escaped = re.escape(secret)
    if len(secret) >= _SUBSTRING_MIN:
        return re.compile(escaped)
    return re.compile(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])")


def mask_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Mask URL credentials, known secret values and bearer tokens in free text (log lines, messages)."""
    text = _mask_urls(text)
    for secret in sorted(secrets, key=len, reverse=True):  # a secret inside another goes with it
        if secret:
            text = _secret_re(secret).sub(MASK, text)
    return _BEARER_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)


def url_secrets(url: str) -> list[str]:
    """The credential values of a URL (as written and percent-decoded), for masking free text."""
    match = _AUTHORITY_RE.match(url.strip())
    parts = _split_userinfo(match["authority"]) if match else None
    if parts is None:
        return []
    user, password, _ = parts
    secret = password or user
    if not secret:
        return []
    return list(dict.fromkeys((secret, unquote(secret))))


def mask_obj(value: Any, secrets: list[str] | tuple[str, ...] = ()) -> Any:
    """Mask secrets in every string of a JSON-like structure."""
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, list):
        return [mask_obj(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: mask_obj(v, secrets) for k, v in value.items()}
    return value
