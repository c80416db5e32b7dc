"""Chromium and Playwright failures → the error taxonomy of `jobcore.errors`, with words a person reads.

Playwright reports network failures as `net::ERR_…` codes inside its exception
text and timeouts as `TimeoutError`; this module is the one place that knows
those spellings.
"""

from __future__ import annotations

import re
from typing import Final

from jobcore.errors import ERROR_MESSAGES, ErrorType
from jobcore.masking import mask_text
from jobcore.models import ErrorInfo

_NET_ERROR_RE = re.compile(r"net::(ERR_[A-Z0-9_]+)")

NET_ERRORS: Final[dict[str, tuple[ErrorType, str]]] = {
    "ERR_NAME_NOT_RESOLVED": (ErrorType.DNS_ERROR, "the target's host name could not be resolved"),
    "ERR_NAME_RESOLUTION_FAILED": (ErrorType.DNS_ERROR, "DNS resolution of the target failed"),
    "ERR_CONNECTION_REFUSED": (ErrorType.CONNECTION_ERROR, "the target refused the connection"),
    "ERR_CONNECTION_RESET": (ErrorType.CONNECTION_ERROR, "the target reset the connection"),
    "ERR_CONNECTION_CLOSED": (
        ErrorType.CONNECTION_ERROR,
        "the target closed the connection without a response",
    ),
    "ERR_CONNECTION_FAILED": (ErrorType.CONNECTION_ERROR, "the connection to the target failed"),
    "ERR_CONNECTION_TIMED_OUT": (ErrorType.CONNECTION_ERROR, "the connection to the target timed out"),
    "ERR_ADDRESS_UNREACHABLE": (ErrorType.CONNECTION_ERROR, "the target address is unreachable"),
    "ERR_EMPTY_RESPONSE": (
        ErrorType.CONNECTION_ERROR,
        "the target closed the connection without sending data",
    ),
    # TLS: the certificate or the handshake. Codes not named here but spelled ERR_CERT_* or ERR_SSL_*
    # are tls_error too (TLS_FALLBACK below).
    "ERR_CERT_DATE_INVALID": (
        ErrorType.TLS_ERROR,
        "the target's certificate has expired or is not yet valid",
    ),
    "ERR_CERT_COMMON_NAME_INVALID": (ErrorType.TLS_ERROR, "the target's certificate does not match the host"),
    "ERR_CERT_AUTHORITY_INVALID": (
        ErrorType.TLS_ERROR,
        "the target's certificate is not trusted (issued by an unknown authority)",
    ),
    "ERR_CERT_REVOKED": (ErrorType.TLS_ERROR, "the target's certificate has been revoked"),
    "ERR_CERT_WEAK_SIGNATURE_ALGORITHM": (
        ErrorType.TLS_ERROR,
        "the target's certificate is signed with a weak algorithm",
    ),
    "ERR_CERT_WEAK_KEY": (ErrorType.TLS_ERROR, "the target's certificate has a weak key"),
    "ERR_CERT_INVALID": (ErrorType.TLS_ERROR, "the target's certificate is invalid"),
    "ERR_CERT_CONTAINS_ERRORS": (ErrorType.TLS_ERROR, "the target's certificate is malformed"),
    "ERR_CERT_NAME_CONSTRAINT_VIOLATION": (
        ErrorType.TLS_ERROR,
        "the target's certificate names a host its authority may not certify",
    ),
    "ERR_CERT_VALIDITY_TOO_LONG": (ErrorType.TLS_ERROR, "the target's certificate is valid for too long"),
    "ERR_CERTIFICATE_TRANSPARENCY_REQUIRED": (
        ErrorType.TLS_ERROR,
        "the target's certificate is not logged in Certificate Transparency",
    ),
    "ERR_SSL_VERSION_OR_CIPHER_MISMATCH": (
        ErrorType.TLS_ERROR,
        "the target offers only a weak or old TLS protocol or cipher",
    ),
    "ERR_SSL_OBSOLETE_VERSION_OR_CIPHER": (
        ErrorType.TLS_ERROR,
        "the target offers only a weak or old TLS protocol or cipher",
    ),
    "ERR_SSL_PROTOCOL_ERROR": (ErrorType.TLS_ERROR, "the TLS handshake with the target failed"),
    "ERR_SSL_CLIENT_AUTH_CERT_NEEDED": (
        ErrorType.TLS_ERROR,
        "the target asks for a client certificate, which sessions do not have",
    ),
    "ERR_SSL_UNRECOGNIZED_NAME_ALERT": (ErrorType.TLS_ERROR, "the target does not serve this host name"),
    "ERR_TIMED_OUT": (ErrorType.NAVIGATION_TIMEOUT, "the network request timed out"),
    "ERR_PROXY_CONNECTION_FAILED": (ErrorType.PROXY_ERROR, "the proxy could not be reached"),
    "ERR_TUNNEL_CONNECTION_FAILED": (
        ErrorType.PROXY_ERROR,
        "the proxy could not open a tunnel to the target",
    ),
    "ERR_PROXY_CERTIFICATE_INVALID": (ErrorType.PROXY_ERROR, "the proxy's TLS certificate is not trusted"),
    "ERR_SOCKS_CONNECTION_FAILED": (ErrorType.PROXY_ERROR, "the SOCKS proxy could not connect to the target"),
    "ERR_PROXY_AUTH_UNSUPPORTED": (
        ErrorType.PROXY_AUTH_FAILED,
        "the proxy asks for an unsupported auth scheme",
    ),
    "ERR_PROXY_AUTH_REQUESTED": (ErrorType.PROXY_AUTH_FAILED, "the proxy requires credentials"),
    "ERR_PROXY_AUTH_REQUESTED_WITH_NO_CONNECTION": (
        ErrorType.PROXY_AUTH_FAILED,
        "the proxy requires credentials",
    ),
    "ERR_INVALID_AUTH_CREDENTIALS": (ErrorType.PROXY_AUTH_FAILED, "the proxy refused the credentials"),
    "ERR_BLOCKED_BY_CLIENT": (ErrorType.BLOCKED_TARGET, "the request was refused by the worker's guards"),
    "ERR_UNSAFE_PORT": (ErrorType.BLOCKED_TARGET, "Chromium refuses to connect to this port"),
    "ERR_ABORTED": (ErrorType.CONNECTION_ERROR, "the navigation was aborted"),
    "ERR_TOO_MANY_REDIRECTS": (ErrorType.HTTP_ERROR, "the page redirects in a loop"),
    "ERR_INVALID_RESPONSE": (ErrorType.HTTP_ERROR, "the target sent a response Chromium could not read"),
    "ERR_INVALID_HTTP_RESPONSE": (ErrorType.HTTP_ERROR, "the target sent an invalid HTTP response"),
    "ERR_RESPONSE_HEADERS_TOO_BIG": (ErrorType.HTTP_ERROR, "the target's response headers are too large"),
    "ERR_HTTP_RESPONSE_CODE_FAILURE": (
        ErrorType.HTTP_ERROR,
        "the target answered with an HTTP error and no body",
    ),
}

TLS_FALLBACK: Final = (ErrorType.TLS_ERROR, "the target's certificate or TLS handshake was refused")
_TLS_PREFIXES = ("ERR_CERT_", "ERR_SSL_", "ERR_CERTIFICATE_")

_CRASH_MARKERS = ("Target crashed", "Page crashed", "Target page, context or browser has been closed",
                  "Browser closed", "browser has been closed", "Connection closed")  # fmt: skip
_MAX_DETAIL = 300


def net_error_code(text: str) -> str | None:
    match = _NET_ERROR_RE.search(text)
    return match.group(1) if match else None


def classify(
    exc: BaseException, *, during: str = "navigation", secrets: list[str] | None = None
) -> ErrorInfo:
    """The ErrorInfo for an exception raised by a Playwright call made `during` navigation or a step."""
    text = str(exc)
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    detail = mask_text(first_line, secrets or [])[:_MAX_DETAIL]
    code = net_error_code(text)
    if code is not None:
        fallback = (
            TLS_FALLBACK
            if code.startswith(_TLS_PREFIXES)
            else (ErrorType.CONNECTION_ERROR, "the request failed")
        )
        error_type, words = NET_ERRORS.get(code, fallback)
        return ErrorInfo(type=error_type, message=f"{words} ({code})")
    if type(exc).__name__ == "TimeoutError" or ("Timeout" in first_line and "exceeded" in first_line):
        if during == "navigation":
            return ErrorInfo(
                type=ErrorType.NAVIGATION_TIMEOUT, message=ERROR_MESSAGES[ErrorType.NAVIGATION_TIMEOUT]
            )
        return ErrorInfo(type=ErrorType.STEP_FAILED, message=f"{during} timed out: {detail}")
    if "Download is starting" in text:
        return ErrorInfo(
            type=ErrorType.EXPECTATION_FAILED,
            message="the URL is a file download, not a page; downloads are refused",
        )
    if any(marker in text for marker in _CRASH_MARKERS):
        return ErrorInfo(type=ErrorType.BROWSER_CRASH, message=ERROR_MESSAGES[ErrorType.BROWSER_CRASH])
    if during == "navigation":
        return ErrorInfo(type=ErrorType.CONNECTION_ERROR, message=f"navigation failed: {detail}")
    return ErrorInfo(type=ErrorType.STEP_FAILED, message=f"{during} failed: {detail}")


def from_type(error_type: ErrorType, detail: str | None = None) -> ErrorInfo:
    base = ERROR_MESSAGES[error_type]
    return ErrorInfo(type=error_type, message=f"{base}: {detail}" if detail else base)
