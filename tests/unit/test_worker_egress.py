"""The request-time egress guard: decisions are made before any request, from the address alone."""

from __future__ import annotations

import asyncio

import pytest

from jobcore.settings import Settings
from worker.egress import EgressGuard, Verdict


def _check(url: str, **settings: object) -> Verdict:
    values: dict[str, object] = {"allow_targets": "127.0.0.1/32", "offline_dns": True, **settings}
    guard = EgressGuard(Settings(**values))  # type: ignore[arg-type]
    return asyncio.run(guard.check(url)).verdict


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
        "http://127.0.0.2:8080/",
        "http://0177.0.0.2/",
        "http://2130706434/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.2]/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "file:///etc/passwd",
    ],
)
def test_denied(url: str) -> None:
    assert _check(url) is Verdict.DENY


def test_allowed_loopback_spellings() -> None:
    assert _check("http://127.0.0.1:8080/x") is Verdict.ALLOW
    assert _check("http://0177.0.0.1:8080/x") is Verdict.ALLOW  # octal 127.0.0.1 is the allowed address


def test_metadata_denied_even_when_allowed() -> None:
    assert _check("http://169.254.169.254/", allow_targets="169.254.0.0/16") is Verdict.DENY


def test_offline_names_are_unresolvable_without_lookup() -> None:
    assert _check("http://example.invalid/") is Verdict.UNRESOLVABLE
    # localhost resolves to 127.0.0.1 (allowed) and possibly ::1 (denied): never a silent allow of ::1.
    assert _check("http://localhost:1/") in (Verdict.ALLOW, Verdict.DENY)
