"""Webhook signatures as Stripe makes them: `t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.

The timestamp is signed with the body, so a receiver that refuses old timestamps refuses replays.
`verify` is what a receiver runs (the README shows the same few lines).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Final

from jobcore import limits

SIGNATURE_HEADER: Final = "TrafficTool-Signature"
EVENT_HEADER: Final = "TrafficTool-Event"
DELIVERY_HEADER: Final = "TrafficTool-Delivery"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match the body."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance_s: int = limits.WEBHOOK_SIGNATURE_TOLERANCE_S,
) -> int:
    """The signed timestamp when `header` signs `body` within the tolerance; else SignatureError."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("no timestamp in the signature header") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"the timestamp is {now - timestamp:.0f} s old; refused as a possible replay")
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise SignatureError("the signature does not match the body")
    return timestamp
