"""The main document's certificate as a result field (`tls`), and the `expect.tls` check on it.

Chromium itself verifies the chain, the name and the dates (a failure ends the
navigation, and `worker.error_mapping` names it a `tls_error`); what reaches
here is a certificate Chromium accepted, read from Playwright's
`response.security_details()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Response

from jobcore.errors import ErrorType
from jobcore.models import ErrorInfo, ExpectTls, TlsInfo
from worker.error_mapping import from_type

_DAY_S = 86_400


async def tls_of(response: Response | None) -> TlsInfo | None:
    """The TLS facts of the main document's response, None for plain HTTP (or no response)."""
    if response is None or not response.url.startswith("https:"):
        return None
    details = await response.security_details()
    return tls_info(details, datetime.now(UTC)) if details else None


def tls_info(details: Mapping[str, Any], now: datetime) -> TlsInfo | None:
    valid_from, valid_to = details.get("validFrom"), details.get("validTo")
    if valid_from is None or valid_to is None:
        return None
    until = datetime.fromtimestamp(float(valid_to), UTC)
    return TlsInfo(
        protocol=str(details.get("protocol") or "unknown"),
        issuer=details.get("issuer") or None,
        subject=details.get("subjectName") or None,
        valid_from=datetime.fromtimestamp(float(valid_from), UTC),
        valid_to=until,
        days_left=math.floor((until - now).total_seconds() / _DAY_S),
    )


def check_tls(expect: ExpectTls | None, tls: TlsInfo | None) -> ErrorInfo | None:
    """`expect.tls`: the page is HTTPS and its certificate has at least min_days_left days to run."""
    if expect is None:
        return None
    if tls is None:
        return from_type(
            ErrorType.EXPECTATION_FAILED, "expect.tls needs an HTTPS page; this one is plain HTTP"
        )
    if tls.days_left < expect.min_days_left:
        return from_type(
            ErrorType.EXPECTATION_FAILED,
            f"the TLS certificate expires on {tls.valid_to:%Y-%m-%d} ({tls.days_left} days left), "
            f"sooner than expect.tls.min_days_left {expect.min_days_left}",
        )
    return None
