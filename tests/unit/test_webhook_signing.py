"""Signatures as Stripe makes them: the receiver's check refuses a changed body, a wrong secret, a replay."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import pytest

from jobcore.webhook_signing import SignatureError, sign, verify

SECRET = "whsec_test"
BODY = b'{"event":"check.failing"}'


def test_the_header_is_t_and_v1_over_timestamp_dot_body() -> None:
    header = sign(SECRET, 1700000000, BODY)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET, header, BODY, now=1700000100) == 1700000000


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        (SECRET, BODY + b" ", 1700000000, "does not match"),
        ("whsec_other", BODY, 1700000000, "does not match"),
        (SECRET, BODY, 1700000000 + 301, "replay"),
    ],
)
def test_refusals(secret: str, body: bytes, now: float, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(secret, sign(SECRET, 1700000000, BODY), body, now=now)


def test_a_header_without_a_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError, match="no timestamp"):
        verify(SECRET, "v1=abc", BODY)


def test_the_readme_s_receiver_snippet_accepts_our_signature_and_refuses_a_changed_body() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Recurring checks") :]
    snippet = section[
        section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)
    ]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 (our own README)
    header = sign(SECRET, int(time.time()), BODY)
    assert namespace["verify"](SECRET, header, BODY) is True
    assert namespace["verify"](SECRET, header, BODY + b"x") is False
    assert namespace["verify"](SECRET, sign(SECRET, int(time.time()) - 600, BODY), BODY) is False
